"""An iterable of ready minibatches over in-memory (or memory-mapped) arrays, driven by an ``EpochSchedule``.

Whole batches are cut with one fancy index per batch, on whatever device the arrays live on (Fashion-MNIST
lives on the GPU), so there is no per-sample ``__getitem__`` and no collate. Being an ``IterableDataset``,
Lightning leaves its sharding alone: the schedule itself shards by rank.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from .sampling import EpochSchedule, rank_plan

# Lightning warns that an IterableDataset's length can be wrong with several workers; these loaders use none.
warnings.filterwarnings("ignore", message="Your `IterableDataset` has `__len__` defined", category=UserWarning)


def _zero() -> int:
    return 0


def _one_rank() -> tuple[int, int]:
    return 0, 1


class TrainingPosition:
    """How far training has come in the epoch plan, ``(epoch, batches trained in it)``, and where a resumed run
    picks up. The datamodule counts the batches that reach a training step (a loader's prefetching does not
    count); a checkpoint keeps ``state()``; ``resume_from`` makes the next pass over that epoch skip them."""

    def __init__(self):
        self.epoch, self.batches = 0, 0
        self._resume: tuple[int, int] | None = None

    def count(self, epoch: int) -> None:
        """One more batch trained in ``epoch``."""
        self.batches = self.batches + 1 if epoch == self.epoch else 1
        self.epoch = epoch

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batches": self.batches}

    def resume_from(self, state: dict) -> None:
        self.epoch, self.batches = int(state["epoch"]), int(state["batches"])
        self._resume = (self.epoch, self.batches)

    def skip(self, epoch: int) -> int:
        """Batches of ``epoch`` trained before the run was resumed (once; 0 for any other epoch)."""
        resume, self._resume = self._resume, None
        return resume[1] if resume is not None and resume[0] == epoch else 0


class ArrayBatches(IterableDataset):
    """Yield ``(x[idx], y[idx])`` batches.

    Args:
        x: samples, a tensor (any device) or a NumPy array / memmap (batches become CPU tensors).
        y: integer labels (N,).
        schedule: the epoch plan; ``None`` for evaluation (fixed order, every sample once on its rank).
        epoch: returns the current epoch number (the trainer's), read at the start of each pass.
        rank: returns ``(rank, world_size)``, read at the start of each pass.
        position: for training, where a resumed run continues within its epoch.
    """

    def __init__(self, x, y: torch.Tensor, batch_size: int, schedule: EpochSchedule | None = None,
                 epoch: Callable[[], int] = _zero, rank: Callable[[], tuple[int, int]] = _one_rank,
                 position: TrainingPosition | None = None):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.schedule, self.epoch, self.rank, self.position = schedule, epoch, rank, position

    def plan(self) -> list[np.ndarray]:
        return rank_plan(self.schedule, len(self.y), self.batch_size, self.epoch(), *self.rank())

    def __len__(self) -> int:
        return len(self.plan())

    def __iter__(self):
        plan = self.plan()
        start = self.position.skip(self.epoch()) if self.position is not None else 0
        for idx in plan[start:]:
            yield self.take(idx)

    def take(self, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(self.x, torch.Tensor):
            i = torch.from_numpy(idx).to(self.x.device)
            return self.x[i], self.y.to(self.x.device)[i]
        order = np.argsort(idx)  # memory maps read fastest in file order
        rows = np.asarray(self.x[idx[order]])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return torch.from_numpy(rows[back]), self.y[torch.from_numpy(idx)]


class BatchLoader(DataLoader):
    """A DataLoader that passes the ready batches through (no re-batching, no workers needed).

    Its own generator keeps ``iter()`` from drawing on torch's global one (which dropout uses), so resumed and
    uninterrupted runs draw alike. A training loader is stateful in Lightning's sense (``state_dict`` /
    ``load_state_dict`` give and take its ``TrainingPosition``), so a run resumed mid-epoch goes on with the
    next batch. The datamodule restores the same position from its own state, which Lightning loads before it
    may first build the loader.
    """

    def __init__(self, batches: ArrayBatches):
        super().__init__(batches, batch_size=None, num_workers=0, generator=torch.Generator())

    def state_dict(self) -> dict:
        position = self.dataset.position
        return position.state() if position is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.dataset.position is not None and state:
            self.dataset.position.resume_from(state)
