"""Shared helpers for the side-by-side benchmarks: an interleaved median timer that syncs CUDA, and a ratio table."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def interleaved_ms(fns: dict[str, Callable[[], object]], device: torch.device, repeats: int = 20,
                   warmup: int = 3) -> dict[str, float]:
    """Median milliseconds of each function, run in turn (A B A B ...) so that machine drift hits all alike."""
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
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(title: str, ours_ms: float, anchors: dict[str, float], target: dict[str, float] | None = None) -> None:
    """Print one row per anchor: its time, ours, and the speed-up ratio anchor / ours."""
    print(f"\n{title}\n  blackmagic: {ours_ms:9.2f} ms")
    for name, ms in anchors.items():
        goal = (target or {}).get(name)
        mark = "" if goal is None else f"  (target >= {goal:g}x: {'met' if ms / ours_ms >= goal else 'NOT met'})"
        print(f"  {name:<22s} {ms:9.2f} ms   speed-up {ms / ours_ms:5.2f}x{mark}")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU, {torch.get_num_threads()} threads"
