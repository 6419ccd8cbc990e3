"""Callbacks that make a killed run resumable without losing or changing anything.

- ``LastCheckpoint`` keeps ``last.ckpt`` current: after every epoch (its validation and the best-model checkpoint
  included), and optionally every N minutes or steps inside long epochs. It is separate from the best-by-metric
  ``ModelCheckpoint``.
- ``ResumableRandomState`` puts torch's, NumPy's and Python's global random states into every checkpoint and
  restores them just before the first training step of a resumed run, so dropout draws what the uninterrupted
  run drew.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Checkpoint

LAST = "last.ckpt"


class LastCheckpoint(Checkpoint):
    """Write ``last.ckpt`` at every epoch end (and every ``every_n_minutes`` / ``every_n_steps`` within an epoch).

    Args:
        dirpath: folder of the checkpoint; default ``<run folder>/checkpoints`` (the first logger's).
        every_n_minutes: also save within an epoch when this much wall time has passed since the last save.
        every_n_steps: also save within an epoch every this many optimizer steps.
    """

    def __init__(self, dirpath: str | None = None, every_n_minutes: float | None = None,
                 every_n_steps: int | None = None):
        if every_n_minutes is not None and every_n_minutes <= 0:
            raise ValueError(f"LastCheckpoint: every_n_minutes must be > 0, got {every_n_minutes}")
        if every_n_steps is not None and every_n_steps < 1:
            raise ValueError(f"LastCheckpoint: every_n_steps must be >= 1, got {every_n_steps}")
        self.dirpath = Path(dirpath) if dirpath else None
        self.every_n_minutes, self.every_n_steps = every_n_minutes, every_n_steps
        self._last_save = time.monotonic()

    @property
    def state_key(self) -> str:
        return f"LastCheckpoint[{self.every_n_minutes}, {self.every_n_steps}]"

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.dirpath is None:
            root = trainer.loggers[0].log_dir if trainer.loggers else trainer.default_root_dir
            self.dirpath = Path(root or ".") / "checkpoints"

    @property
    def path(self) -> Path:
        return (self.dirpath or Path(".")) / LAST

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Checkpoint callbacks run after every other epoch-end hook: the epoch's validation and best checkpoint
        # are in; a resumed run goes on with the next epoch.
        self._save(trainer)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        due_steps = self.every_n_steps is not None and trainer.global_step % self.every_n_steps == 0
        due_time = self.every_n_minutes is not None and time.monotonic() - self._last_save >= 60 * self.every_n_minutes
        due_time = bool(trainer.strategy.broadcast(due_time))  # one decision for every rank
        last_batch = batch_idx + 1 >= trainer.num_training_batches
        if (due_steps or due_time) and not last_batch:  # the epoch-end save follows anyway
            self._save(trainer)

    def _save(self, trainer: L.Trainer) -> None:
        if trainer.fast_dev_run or trainer.sanity_checking:  # as ModelCheckpoint: no files from a dry run
            return
        trainer.save_checkpoint(self.path, weights_only=False)  # the whole state, to resume
        self._last_save = time.monotonic()


class ResumableRandomState(L.Callback):
    """torch (CPU and CUDA), NumPy and Python random states in every checkpoint, restored at the first training
    step after a resume (later than the load itself, so that nothing the trainer does before training, such as
    the sanity check, can shift them)."""

    def __init__(self):
        self._pending: dict | None = None

    def state_dict(self) -> dict:
        # Tensors and plain numbers only, so that ``torch.load(weights_only=True)`` (LightningCLI) can read it.
        _, keys, pos, has_gauss, gauss = np.random.get_state()
        version, words, gauss_next = random.getstate()
        state = {"torch": torch.get_rng_state(),
                 "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                           "has_gauss": int(has_gauss), "gauss": float(gauss)},
                 "python": {"version": version, "words": list(words), "gauss_next": gauss_next}}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        self._pending = state_dict

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        torch.set_rng_state(state["torch"])
        n = state["numpy"]
        np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
        py = state["python"]
        random.setstate((py["version"], tuple(py["words"]), py["gauss_next"]))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
