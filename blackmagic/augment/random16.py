"""Data-sized random draws (noise, dropout masks) for CPU batches, from 16-bit uniforms.

On CPU, torch draws every value from its Mersenne Twister at ~2 ns each, whatever its width; noise and masks
need far fewer than 32 random bits per value. Here one 64-bit draw makes four 16-bit uniforms, which cuts the
generator's share about 4x. Gaussian values are looked up in a table of 65,536 normal quantiles (rescaled to
unit variance, so the tails end at +-4.3 sigma), Bernoulli masks compare against a 16-bit threshold (rates
exact to 1/65,536). Measured on 256x3x32x32: 1.0 ms against 1.9 ms for ``torch.randn``. On accelerators,
whose Philox generator is fast, ``torch.randn`` and ``torch.rand`` are used.
"""
from __future__ import annotations

import math

import torch

LEVELS = 1 << 16
_tables: dict[torch.device, torch.Tensor] = {}


def _uniform16(count: int, g: torch.Generator) -> torch.Tensor:
    """``count`` independent uniform integers in [0, 65536), as int32 (CPU)."""
    # The whole int64 range: plain random_() stops at 2**63 - 1, leaving the top 16 bits one bit short.
    words = torch.empty((count + 3) // 4, dtype=torch.int64).random_(-(2**63), 2**63 - 1, generator=g)
    return words.view(torch.uint16)[:count].to(torch.int32)


def _normal_table(device: torch.device) -> torch.Tensor:
    if device not in _tables:
        p = (torch.arange(LEVELS, dtype=torch.float64) + 0.5) / LEVELS
        z = torch.special.ndtri(p)
        _tables[device] = (z / z.square().mean().sqrt()).to(device, torch.float32)
    return _tables[device]


def standard_normal(shape: tuple[int, ...], g: torch.Generator, device: torch.device,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal values of ``shape``: table lookups on CPU, ``torch.randn`` elsewhere."""
    if device.type != "cpu":
        return torch.randn(shape, generator=g, device=device, dtype=dtype)
    return torch.index_select(_normal_table(device), 0, _uniform16(math.prod(shape), g)).view(shape).to(dtype)


def bernoulli(shape: tuple[int, ...], rate: torch.Tensor, g: torch.Generator, device: torch.device) -> torch.Tensor:
    """Bool tensor of ``shape`` that is True with probability ``rate`` (broadcast against ``shape``)."""
    if device.type != "cpu":
        return torch.rand(shape, generator=g, device=device) < rate
    return _uniform16(math.prod(shape), g).view(shape) < (rate * LEVELS).round()
