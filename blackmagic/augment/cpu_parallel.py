"""Row sorting for per-sample percentiles, the one kernel where torch's CPU version is the bottleneck.

``torch.sort`` on CPU also builds an index tensor and is several times slower than NumPy's vectorised sort;
on CPU the rows are sorted by NumPy in a small thread pool (it releases the GIL). On accelerators
``torch.sort`` is used.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import torch

MIN_PARALLEL = 1 << 16  # elements per thread below which one thread is faster than handing work out
_pool: ThreadPoolExecutor | None = None


def _workers(n: int) -> int:
    return max(1, min(torch.get_num_threads(), n // MIN_PARALLEL))


def _run(parts: int, fn: Callable[[int], object]) -> None:
    global _pool
    if parts == 1:
        fn(0)
        return
    if _pool is None or _pool._max_workers < parts:
        _pool = ThreadPoolExecutor(parts, thread_name_prefix="blackmagic")
    list(_pool.map(fn, range(parts)))


def sort_rows_(v: torch.Tensor) -> torch.Tensor:
    """Sort each row of a (B, N) tensor ascending and return it (in place on CPU).

    On CPU this is NumPy's vectorised sort over a few threads, several times faster than ``torch.sort``;
    on CUDA it is ``torch.sort``'s segmented sort.
    """
    if v.device.type != "cpu":
        return torch.sort(v, dim=1).values
    a = v.contiguous().numpy()
    parts = max(1, min(_workers(a.size), a.shape[0]))
    bounds = [a.shape[0] * i // parts for i in range(parts + 1)]
    _run(parts, lambda i: a[bounds[i] : bounds[i + 1]].sort(axis=1))
    return torch.from_numpy(a)
