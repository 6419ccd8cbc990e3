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
        steps: the number of batches every rank must yield (the most any rank has), so that distributed
            training never waits on a rank that ran out; a rank with one batch fewer splits its last batch
            in two. ``None``: ``batches``.
    """

    def __init__(self, pipeline, batches: int, reader_name: str | None = None, steps: int | None = None):
        from nvidia.dali.plugin.pytorch import DALIGenericIterator, LastBatchPolicy

        self.batches = batches
        self.steps = batches if steps is None else steps
        if not batches <= self.steps <= batches + 1:
            raise ValueError(f"DaliLoader: this rank has {batches} batches and cannot make {self.steps} of them")
        # PARTIAL: a short last batch is returned as it is, never padded with repeats nor dropped.
        self.iterator = DALIGenericIterator([pipeline], ["x", "y"], reader_name=reader_name, auto_reset=True,
                                            last_batch_policy=LastBatchPolicy.PARTIAL)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        held = None  # the batch before, held back in case it is the last one and must be split
        for out in self.iterator:
            x, y = out[0]["x"], out[0]["y"].view(-1).long()
            if not len(y):  # a smaller shard ends on an empty batch (DALI evens out the steps): never train on it
                continue
            if held is not None:
                yield held
            held = (x, y)
        if held is None:
            return
        if self.steps > self.batches:
            half = len(held[1]) // 2
            if not half:
                raise RuntimeError("DaliLoader: the last batch holds one sample and cannot be split into the step "
                                   "the other ranks take; use batch_size >= 2")
            yield held[0][:half], held[1][:half]
            held = held[0][half:], held[1][half:]
        yield held


def reader_batches(n: int, batch_size: int, rank: int, world: int) -> int:
    """Non-empty batches a DALI file reader gives ``rank``: its shards are ``[n*r//world, n*(r+1)//world)``."""
    shard = n * (rank + 1) // world - n * rank // world
    return -(-shard // batch_size)


def reader_steps(n: int, batch_size: int, world: int, what: str) -> int:
    """The batches every rank yields: the most any rank's shard makes (others split their last batch)."""
    counts = [reader_batches(n, batch_size, r, world) for r in range(world)]
    if batch_size < 2 and len(set(counts)) > 1:
        raise ValueError(f"{what}: {n} samples over {world} ranks give uneven shards, which batch_size 1 cannot "
                         "even out (a rank would wait for the others); use batch_size >= 2")
    return max(counts)


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
