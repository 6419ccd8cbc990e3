"""Feeding Lightning from DALI pipelines: an iterable of ``(x, y)`` torch batches with a length."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .sampling import EpochSchedule, rank_plan


class DaliLoader:
    """Wrap a built DALI pipeline (outputs ``x``, ``y``) as a re-iterable of ``(x, y)`` tensors.

    Args:
        pipeline: the DALI pipeline.
        batches: the number of non-empty batches per epoch on this rank.
        reader_name: the pipeline's reader, when it has one (it then sets the epoch).
    """

    def __init__(self, pipeline, batches: int, reader_name: str | None = None):
        from nvidia.dali.plugin.pytorch import DALIGenericIterator, LastBatchPolicy

        self.batches = batches
        # PARTIAL: a short last batch is returned as it is, never padded with repeats nor dropped.
        self.iterator = DALIGenericIterator([pipeline], ["x", "y"], reader_name=reader_name, auto_reset=True,
                                            last_batch_policy=LastBatchPolicy.PARTIAL)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        for out in self.iterator:
            x, y = out[0]["x"], out[0]["y"].view(-1).long()
            if len(y):  # a smaller shard ends on an empty batch (DALI evens out the steps): never train on it
                yield x, y


def reader_batches(n: int, batch_size: int, rank: int, world: int) -> int:
    """Non-empty batches a DALI file reader gives ``rank``: its shards are ``[n*r//world, n*(r+1)//world)``."""
    shard = n * (rank + 1) // world - n * rank // world
    return -(-shard // batch_size)


class ScheduledSource:
    """A DALI ``external_source`` that yields the batches of an ``EpochSchedule`` for one rank, one epoch per
    pass (each pass a fresh global permutation, no minibatch repeated)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, schedule: EpochSchedule | None, batch_size: int,
                 rank: Callable[[], tuple[int, int]], first_epoch: int = 0):
        self.x, self.y, self.schedule, self.batch_size, self.rank = x, y, schedule, batch_size, rank
        self.epoch = first_epoch - 1  # counted here, not read from the trainer: DALI asks for epochs ahead
        self.plan: list[np.ndarray] = []
        self.i = 0

    def batches(self) -> list[np.ndarray]:
        return rank_plan(self.schedule, len(self.y), self.batch_size, max(self.epoch, 0), *self.rank())

    def __iter__(self):
        self.epoch += 1
        self.plan, self.i = self.batches(), 0
        return self

    def __next__(self):
        if self.i >= len(self.plan):
            raise StopIteration
        idx = self.plan[self.i]
        self.i += 1
        return [self.x[i] for i in idx], [self.y[i : i + 1] for i in idx]
