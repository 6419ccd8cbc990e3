"""The rows of a robustness report (one per checkpoint and test set), their means, the CSV and the terminal table."""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from rich.table import Table

from ...augment.suite import CLEAN, Suite


@dataclass(frozen=True)
class Row:
    """One checkpoint on one test set: the clean one (``corruption='clean'``, severity 0) or a suite cell."""

    checkpoint: str
    corruption: str
    severity: int
    accuracy: float
    nll: float
    ece: float


COLUMNS = [f.name for f in fields(Row)]


@dataclass(frozen=True)
class Means:
    """One checkpoint's accuracy: clean, per corruption (mean over its severities) and over every cell."""

    clean: float | None
    corruptions: dict[str, float]
    suite: float | None


def rows_of(checkpoint: str, metrics: dict[str, float], suite: Suite, prefix: str = "test") -> list[Row]:
    """The rows in ``trainer.test``'s metrics (``test_acc``, ``test_<cell>_nll``, ...); test sets it did not log
    are left out. ``prefix`` ``test_mc`` reads the Monte-Carlo dropout metrics instead."""
    sets = [(prefix, CLEAN, 0)] + [(f"{prefix}_{c.name}", c.corruption, c.severity) for c in suite.cells]
    return [Row(checkpoint, corruption, severity, *(float(metrics[f"{key}_{m}"]) for m in ("acc", "nll", "ece")))
            for key, corruption, severity in sets if all(f"{key}_{m}" in metrics for m in ("acc", "nll", "ece"))]


def means(rows: list[Row]) -> Means:
    """The means of one checkpoint's rows; every cell of the suite counts once in the suite mean."""
    clean = next((r.accuracy for r in rows if r.corruption == CLEAN), None)
    shifted = [r for r in rows if r.corruption != CLEAN]
    groups: dict[str, list[float]] = {}
    for r in shifted:
        groups.setdefault(r.corruption, []).append(r.accuracy)
    suite = sum(r.accuracy for r in shifted) / len(shifted) if shifted else None
    return Means(clean, {c: sum(v) / len(v) for c, v in groups.items()}, suite)


def by_checkpoint(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.checkpoint, []).append(r)
    return groups


def short_labels(checkpoints: list[str]) -> list[str]:
    """The fewest trailing path parts that tell the checkpoints apart (``version_0/checkpoints/best.ckpt``)."""
    parts = [Path(c).parts for c in checkpoints]
    for k in range(1, max(map(len, parts), default=0) + 1):
        labels = [str(Path(*p[-k:])) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [str(c) for c in checkpoints]


def write_csv(rows: list[Row], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    return path


def terminal_table(rows: list[Row]) -> Table:
    """Accuracy in %: a column per checkpoint; rows clean, each corruption's mean, and the suite mean."""
    groups = by_checkpoint(rows)
    summaries = [means(r) for r in groups.values()]
    table = Table(title="Accuracy (%), mean over severities")
    table.add_column("test set")
    for label in short_labels(list(groups)):
        table.add_column(label, justify="right")
    table.add_row(CLEAN, *(percent(m.clean) for m in summaries))
    for corruption in summaries[0].corruptions:
        table.add_row(corruption, *(percent(m.corruptions.get(corruption)) for m in summaries))
    table.add_section()
    table.add_row("suite mean", *(percent(m.suite) for m in summaries), style="bold")
    return table


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def read_csv(path: Path) -> list[Row]:
    """The rows of an earlier ``robustness.csv`` (e.g. a checkpoint tested with its own recipe)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"robustness: no such report {path}")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"robustness: {path} is not a robustness.csv: its columns are {reader.fieldnames}, "
                             f"expected {COLUMNS}")
        try:
            return [Row(r["checkpoint"], r["corruption"], int(r["severity"]), float(r["accuracy"]), float(r["nll"]),
                        float(r["ece"])) for r in reader]
        except ValueError as e:
            raise ValueError(f"robustness: {path} line {reader.line_num}: {e}") from None
