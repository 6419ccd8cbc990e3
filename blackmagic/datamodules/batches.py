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


class ArrayBatches(IterableDataset):
    """Yield ``(x[idx], y[idx])`` batches.

    Args:
        x: samples, a tensor (any device) or a NumPy array / memmap (batches become CPU tensors).
        y: integer labels (N,).
        schedule: the epoch plan; ``None`` for evaluation (fixed order, every sample once on its rank).
        epoch: returns the current epoch number (the trainer's), read at the start of each pass.
        rank: returns ``(rank, world_size)``, read at the start of each pass.
    """

    def __init__(self, x, y: torch.Tensor, batch_size: int, schedule: EpochSchedule | None = None,
                 epoch: Callable[[], int] = lambda: 0, rank: Callable[[], tuple[int, int]] = lambda: (0, 1)):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.schedule, self.epoch, self.rank = schedule, epoch, rank

    def plan(self) -> list[np.ndarray]:
        return rank_plan(self.schedule, len(self.y), self.batch_size, self.epoch(), *self.rank())

    def __len__(self) -> int:
        return len(self.plan())

    def __iter__(self):
        for idx in self.plan():
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


def loader(batches: ArrayBatches) -> DataLoader:
    """A DataLoader that passes the ready batches through (no re-batching, no workers needed)."""
    return DataLoader(batches, batch_size=None, num_workers=0)
