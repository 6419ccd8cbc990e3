"""Run folders, ``runs/<recipe>/version_<n>/``, and how a resumed run continues in the folder it was killed in.

``--ckpt_path last`` finds the newest run folder of the recipe holding ``checkpoints/last.ckpt``. The resumed
run logs into that folder: ``metrics.csv`` keeps the rows logged before the checkpoint and drops the ones
logged after it (the resumed run logs those steps again), TensorBoard purges its events from that step on.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from .callbacks import LAST
from .checkpoint_io import CheckpointError, atomic_write, read_checkpoint

VERSION = re.compile(r"version_(\d+)")


@dataclass(frozen=True)
class Resume:
    """Where a resumed run continues: its checkpoint, its run folder's version, and the checkpoint's step."""

    checkpoint: Path
    version: int
    step: int


def versions(root: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in root.glob("version_*") if (m := VERSION.fullmatch(p.name)) and p.is_dir())


def next_version(root: Path) -> int:
    return max(versions(root), default=-1) + 1


def find_last(runs_dir: Path, name: str) -> Resume:
    """The newest run of recipe ``name`` under ``runs_dir`` that holds a ``last.ckpt``."""
    root = Path(runs_dir) / name
    for version in reversed(versions(root)):
        path = root / f"version_{version}" / "checkpoints" / LAST
        if path.is_file():
            step = int(read_checkpoint(path).get("global_step", 0))
            return Resume(path, version, step)
    raise CheckpointError(f"--ckpt_path last: no {root}/version_*/checkpoints/{LAST} to resume from; start the run "
                          "without --ckpt_path (the recipes' LastCheckpoint writes one after every epoch)")


class RunMetricsWriter(ExperimentWriter):
    """``metrics.csv`` of a run; when resuming, the rows from ``resume_step`` on are dropped instead of the file."""

    def __init__(self, log_dir: str, resume_step: int | None):
        self.resume_step = resume_step
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if self.resume_step is None or not path.is_file():
            return super()._check_log_dir_exists()
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            keys = list(reader.fieldnames or [])
            kept = [row for row in reader if int(float(row["step"])) < self.resume_step]
        self.metrics_keys = keys
        self._write(keys, kept)

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        with open(self.metrics_file_path, newline="") as f:
            rows = list(csv.DictReader(f))
        self._write(fieldnames, rows)

    def _write(self, fieldnames: list[str], rows: list[dict]) -> None:
        """Rewrite the whole file atomically: a kill mid-rewrite keeps the old one."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(Path(self.metrics_file_path), text.getvalue().encode())


class RunCSVLogger(CSVLogger):
    """CSV metrics written after every logged step (a kill loses none), continuing a resumed run's file."""

    def __init__(self, save_dir: str, name: str, version: int, resume_step: int | None = None):
        super().__init__(save_dir, name=name, version=version, flush_logs_every_n_steps=1)
        self.resume_step = resume_step

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = RunMetricsWriter(self.log_dir, self.resume_step)
        return self._experiment
