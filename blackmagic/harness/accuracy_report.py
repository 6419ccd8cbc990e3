"""Per-class and per-speaker accuracy and a confusion matrix of the (clean) test set: ``AccuracyReport``.

Add it to a recipe's ``trainer.callbacks`` (the keyword recipes have it) or on the command line
(``--trainer.callbacks+=blackmagic.harness.accuracy_report.AccuracyReport``). With a folder of recordings as the
test set:

    blackmagic test -c recipes/keywords_transfer.yaml --data.init_args.test_root RECORDINGS --ckpt_path BEST.ckpt

Every ``blackmagic test`` or ``train`` then prints the tables and writes into the run folder's ``test_report/``:
``per_class.csv``, ``per_speaker.csv`` (where the test files' names carry a speaker), ``confusion.csv`` and
``confusion.png`` (counts, colours normalised per true class). Labels are the checkpoint's classes, matched by
name (``ClassifierModule``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from ..models.classifier import label_map
from .speakers import SPEECH_COMMANDS, SpeakerPattern

SHOWN_SPEAKERS = 30  # more speakers than this: the terminal shows the lowest ones (the CSV has all)


@dataclass(frozen=True)
class Group:
    """Accuracy of one class or speaker."""

    name: str
    samples: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.samples


class AccuracyReport(L.Callback):
    """Collect the clean test set's predictions and report them per class and per speaker.

    Args:
        speaker_pattern: how a test file's name gives its speaker (``speakers.SpeakerPattern``): a regular
            expression (its group ``speaker``, else its first group, else the whole match) or ``stem``. Files that
            do not match have none (no speaker table if none match). Default: Speech Commands'
            ``SPEAKER_nohash_N`` (the synthesised keyword sets name files ``ENGINE-VOICE_nohash_N``).
        folder: the run folder's subfolder for the files (nothing is written without a logger).
        show: print the tables.
    """

    def __init__(self, speaker_pattern: str = SPEECH_COMMANDS, folder: str = "test_report", show: bool = True):
        self.pattern = SpeakerPattern(speaker_pattern)
        self.folder, self.show = folder, show
        self.written: list[Path] = []
        self._preds: list[torch.Tensor] = []
        self._labels: list[torch.Tensor] = []

    # ---- collecting -----------------------------------------------------------------------------------
    def on_test_epoch_start(self, trainer, pl_module) -> None:
        self._preds, self._labels, self.written = [], [], []

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx: int = 0) -> None:
        if dataloader_idx != 0:  # the clean test set; the shifted copies have their own metrics
            return
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(f"AccuracyReport: {type(pl_module).__name__}.test_step must return the batch's class "
                            "probabilities or logits (B, K), as ClassifierModule does; it returned "
                            f"{type(outputs).__name__}")
        self._preds.append(outputs.detach().argmax(-1))
        self._labels.append(batch[1].detach())

    def on_test_epoch_end(self, trainer, pl_module) -> None:
        names = list(pl_module.class_names)
        data_names = getattr(trainer.datamodule, "class_names", None) or names
        mapping = label_map(data_names, names)
        preds = torch.cat(self._preds).cpu() if self._preds else torch.zeros(0, dtype=torch.long)
        labels = torch.cat(self._labels).cpu() if self._labels else torch.zeros(0, dtype=torch.long)
        if mapping is not None:
            labels = mapping[labels]
        preds, labels = _gathered(pl_module, preds), _gathered(pl_module, labels)
        run = _run_folder(trainer)  # on every rank: the trainer's log_dir asks them all
        if trainer.global_rank != 0 or len(labels) == 0:
            return
        files = getattr(trainer.datamodule, "test_files", None)
        speakers = self.speakers(files) if files is not None and len(files) == len(labels) else None
        self.report(names, preds.numpy(), labels.numpy(), speakers, run / self.folder if run else None)

    # ---- reporting ------------------------------------------------------------------------------------
    def speakers(self, files: list[Path]) -> list[str | None] | None:
        """The speaker of each file, or ``None`` if no file name carries one."""
        return self.pattern.speakers(files)

    def speaker(self, stem: str) -> str | None:
        return self.pattern.speaker(stem)

    def report(self, names: list[str], preds: np.ndarray, labels: np.ndarray, speakers: list[str | None] | None,
               folder: Path | None) -> None:
        confusion = np.zeros((len(names), len(names)), dtype=np.int64)
        np.add.at(confusion, (labels, preds), 1)
        classes = [Group(n, int(confusion[i].sum()), int(confusion[i, i])) for i, n in enumerate(names)
                   if confusion[i].sum()]
        by_speaker = groups(speakers, preds == labels) if speakers else []
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self.written = [write_groups(classes, folder / "per_class.csv", "class"),
                            write_confusion(confusion, names, folder / "confusion.csv"),
                            save_confusion(confusion, names, folder / "confusion.png")]
            if by_speaker:
                self.written.append(write_groups(by_speaker, folder / "per_speaker.csv", "speaker"))
        if self.show:
            console = Console()
            console.print(f"Test accuracy per class ({len(labels)} samples)", style="bold")
            console.print(table(classes, "class"))
            if by_speaker:
                shown = sorted(by_speaker, key=lambda g: (g.accuracy, g.name))[:SHOWN_SPEAKERS]
                title = f"Test accuracy per speaker ({len(by_speaker)} speakers"
                title += f", the {len(shown)} lowest)" if len(shown) < len(by_speaker) else ")"
                console.print(title, style="bold")
                console.print(table(shown if len(shown) < len(by_speaker) else by_speaker, "speaker"))
            if self.written:
                console.print(f"wrote {', '.join(p.name for p in self.written)} in {folder}")


def groups(keys: list[str | None], correct: np.ndarray) -> list[Group]:
    """Accuracy per key (files without one left out), sorted by key."""
    out: dict[str, list[int]] = {}
    for key, ok in zip(keys, correct):
        if key is not None:
            out.setdefault(key, []).append(int(ok))
    return [Group(k, len(v), sum(v)) for k, v in sorted(out.items())]


def table(rows: list[Group], what: str) -> Table:
    t = Table()
    t.add_column(what)
    t.add_column("samples", justify="right")
    t.add_column("accuracy (%)", justify="right")
    for g in rows:
        t.add_row(g.name, str(g.samples), f"{100 * g.accuracy:.2f}")
    return t


def write_groups(rows: list[Group], path: Path, what: str) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([what, "samples", "correct", "accuracy"])
        w.writerows([g.name, g.samples, g.correct, f"{g.accuracy:.6f}"] for g in rows)
    return path


def write_confusion(confusion: np.ndarray, names: list[str], path: Path) -> Path:
    """Rows: true class, columns: predicted class, counts."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["true \\ predicted", *names])
        w.writerows([name, *row.tolist()] for name, row in zip(names, confusion))
    return path


def confusion_figure(confusion: np.ndarray, names: list[str]) -> Figure:
    """Rows: the true classes present, columns: every predicted class; each cell's count written in it, its
    colour the fraction of its row."""
    present = np.flatnonzero(confusion.sum(1))
    counts = confusion[present]
    fractions = counts / counts.sum(1, keepdims=True)
    size = 0.32 * max(len(names), 4)
    fig = Figure(figsize=(size + 2.2, 0.32 * max(len(present), 4) + 1.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), n in np.ndenumerate(counts):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=6,
                    color="white" if fractions[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(present)), [names[i] for i in present], fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(confusion) / max(1, confusion.sum())
    ax.set_title(f"{confusion.sum()} test samples, accuracy {100 * acc:.2f} %", fontsize=9)
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    return fig


def save_confusion(confusion: np.ndarray, names: list[str], path: Path) -> Path:
    confusion_figure(confusion, names).savefig(path, dpi=120)
    return path


def _run_folder(trainer) -> Path | None:
    """The run folder where the run has a logger; ``None`` (print only) without one."""
    return Path(trainer.log_dir) if trainer.loggers and trainer.log_dir else None


def _gathered(pl_module, values: torch.Tensor) -> torch.Tensor:
    """Every rank's values in rank order (the evaluation shards are consecutive pieces of the test set)."""
    world = pl_module.trainer.world_size
    if world == 1:
        return values
    device = pl_module.device
    size = torch.tensor([len(values)], device=device)
    sizes = pl_module.all_gather(size).view(-1).cpu()
    padded = torch.zeros(int(sizes.max()), dtype=values.dtype, device=device)
    padded[: len(values)] = values.to(device)
    gathered = pl_module.all_gather(padded).view(world, -1).cpu()
    return torch.cat([gathered[r, : sizes[r]] for r in range(world)])
