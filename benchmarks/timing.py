"""Shared helpers for the side-by-side benchmarks: an interleaved median timer that syncs CUDA, and a ratio table."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def interleaved_runs(fns: dict[str, Callable[[], object]], device: torch.device, repeats: int = 20,
                     warmup: int = 3) -> dict[str, list[float]]:
    """Milliseconds of each run of each function, run in turn (A B A B ...) so that machine drift hits all alike."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def interleaved_ms(fns: dict[str, Callable[[], object]], device: torch.device, repeats: int = 20,
                   warmup: int = 3) -> dict[str, float]:
    """Median milliseconds of each function, from ``interleaved_runs``."""
    return {name: statistics.median(ts) for name, ts in interleaved_runs(fns, device, repeats, warmup).items()}


def report(title: str, runs: dict[str, list[float]], anchors: dict[str, str], target: dict[str, float] | None = None,
           ours: str = "ours") -> None:
    """Print our median time and one row per anchor (``anchors``: key in ``runs`` -> label): its median time and
    the speed-up, the median of the ratios of runs made side by side (robust to the machine's speed drifting)."""
    print(f"\n{title}\n  blackmagic: {statistics.median(runs[ours]):9.2f} ms")
    for key, label in anchors.items():
        ratios = [a / b for a, b in zip(runs[key], runs[ours])]
        ratio = statistics.median(ratios)
        low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratio, ratio, ratio)
        goal = (target or {}).get(key)
        mark = "" if goal is None else f"  (target >= {goal:g}x: {'met' if ratio >= goal else 'NOT met'})"
        print(f"  {label:<22s} {statistics.median(runs[key]):9.2f} ms   speed-up {ratio:5.2f}x "
              f"[quartiles {low:.2f}-{high:.2f}]{mark}")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU, {torch.get_num_threads()} threads"
