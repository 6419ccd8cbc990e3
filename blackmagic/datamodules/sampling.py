"""Epoch batch schedules: a fresh global permutation every epoch, sharded across ranks, with no repeated
minibatch and no sample dropped or duplicated.

Every rank computes the same global schedule from ``(seed, epoch)``; rank ``r`` takes shard ``r``. Each shard
is cut into the same number of batches on every rank (so DDP ranks step together), with sizes that differ by
at most one instead of a tiny last batch (which BatchNorm cannot train on).
"""
from __future__ import annotations

import hashlib

import numpy as np

MAX_REDRAWS = 20


def split_even(items: np.ndarray, parts: int) -> list[np.ndarray]:
    """``parts`` consecutive pieces whose sizes differ by at most one."""
    return np.array_split(items, parts)


class EpochSchedule:
    """Which sample indices form each minibatch of each epoch, for every rank.

    Args:
        n: number of samples.
        batch_size: samples per batch on each rank (batches may be one smaller, or one larger only when that
            is the only way to keep every sample without a lopsided last batch).
        seed: fixes the whole sequence of epochs.
        world_size: number of ranks (DDP processes).
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0, world_size: int = 1):
        if n < world_size:
            raise ValueError(f"cannot shard {n} samples over {world_size} ranks: every rank needs at least one")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.n, self.batch_size, self.seed, self.world_size = n, batch_size, seed, world_size
        self.batches_per_rank = max(1, min(-(-n // (world_size * batch_size)), n // world_size))
        self._seen: set[bytes] = set()
        self._recent: dict[int, list[list[np.ndarray]]] = {}
        self._drawn = 0  # epochs drawn so far, in order: each one's batches join the no-repeat history

    def __len__(self) -> int:
        return self.batches_per_rank

    def epoch(self, epoch: int) -> list[list[np.ndarray]]:
        """``[rank][batch] -> indices`` for ``epoch``; deterministic, identical on every rank."""
        if epoch not in self._recent:
            if epoch < self._drawn:  # asked again for an old epoch: replay the history from the start
                self._seen.clear()
                self._drawn = 0
            while self._drawn <= epoch:
                self._recent[self._drawn] = self._draw(self._drawn)
                self._recent.pop(self._drawn - 2, None)  # keep two epochs of plans, the hashes of all
                self._drawn += 1
        return self._recent[epoch]

    def rank_batches(self, epoch: int, rank: int = 0) -> list[np.ndarray]:
        return self.epoch(epoch)[rank]

    def _draw(self, epoch: int) -> list[list[np.ndarray]]:
        for attempt in range(MAX_REDRAWS):
            rng = np.random.default_rng([self.seed, epoch, attempt])
            order = rng.permutation(self.n)
            shards = split_even(order, self.world_size)
            plan = [split_even(shard, self.batches_per_rank) for shard in shards]
            keys = [_key(b) for rank in plan for b in rank]
            if self._distinct(keys):
                break
        # With one possible batch (all samples in one batch) a repeat cannot be avoided; keep the last draw.
        self._seen.update(keys)
        return plan

    def _distinct(self, keys: list[bytes]) -> bool:
        return len(set(keys)) == len(keys) and not (set(keys) & self._seen)


def _key(batch: np.ndarray) -> bytes:
    """A batch's identity is its set of samples (order inside the batch does not make it new)."""
    return hashlib.blake2b(np.sort(batch).tobytes(), digest_size=12).digest()


def rank_plan(schedule: EpochSchedule | None, n: int, batch_size: int, epoch: int, rank: int, world: int
              ) -> list[np.ndarray]:
    """This rank's batches for ``epoch``: the schedule's (training), or, without one (evaluation), its even
    share of the samples in order, cut into ``batch_size`` pieces."""
    if schedule is not None:
        return schedule.rank_batches(epoch, rank)
    shard = split_even(np.arange(n), world)[rank]
    return [shard[i : i + batch_size] for i in range(0, len(shard), batch_size)]
