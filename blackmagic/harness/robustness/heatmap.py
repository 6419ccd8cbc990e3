"""The robustness heatmap: corruption x severity, the accuracy in every cell, one panel per checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ...augment.suite import CLEAN
from .results import Row, by_checkpoint, means, percent, short_labels


def heatmap(rows: list[Row]) -> Figure:
    """One panel per checkpoint, side by side, on one shared colour scale; each titled with the checkpoint and
    its clean and suite-mean accuracy. Blank cells: severities a corruption does not have."""
    groups = by_checkpoint(rows)
    shifted = [r for r in rows if r.corruption != CLEAN]
    corruptions = list(dict.fromkeys(r.corruption for r in shifted))
    severities = max((r.severity for r in shifted), default=1)
    values = [100 * r.accuracy for r in shifted] or [0.0]
    lo, hi = min(values), max(values)
    lo, hi = (lo - 0.5, hi + 0.5) if hi - lo < 1 else (lo, hi)  # a flat report still gets a readable scale
    fig = Figure(figsize=(2.2 + (1.0 + 0.75 * severities) * len(groups), 1.6 + 0.42 * len(corruptions)),
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(groups), squeeze=False, sharey=True)[0]
    axes[0].set_yticks(range(len(corruptions)), corruptions)
    for ax, label, group in zip(axes, short_labels(list(groups)), groups.values()):
        grid = np.full((len(corruptions), severities), np.nan)
        for r in group:
            if r.corruption != CLEAN:
                grid[corruptions.index(r.corruption), r.severity - 1] = 100 * r.accuracy
        image = ax.imshow(grid, cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if not np.isnan(v):
                dark = (v - lo) / (hi - lo) < 0.5
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_xticks(range(severities), [str(s) for s in range(1, severities + 1)])
        ax.set_xlabel("severity")
        m = means(group)
        ax.set_title(f"{label}\nclean {percent(m.clean)} %, mean {percent(m.suite)} %", fontsize=9)
    fig.colorbar(image, ax=list(axes), label="accuracy (%)")
    return fig


def save_heatmap(rows: list[Row], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    heatmap(rows).savefig(path, dpi=120, bbox_inches="tight")
    return path

