"""The unit rules of the engine and the datamodules, each written once.

- Images: uint8 0..255 means [0, 1] (``to_unit_float``); the DALI graphs scale by ``UINT8_SCALE``.
- Waveforms are float in [-1, 1]; the folder caches store them as int16 (``float_to_int16`` /
  ``int16_to_float``, full scale 32767).
"""
from __future__ import annotations

import torch

UINT8_SCALE = 1 / 255
INT16_FULL_SCALE = 32767.0


def to_unit_float(x: torch.Tensor, copy: bool = True, out: torch.Tensor | None = None) -> torch.Tensor:
    """float32 with uint8 scaled to [0, 1] and floats taken as they are; written into ``out`` if given. With
    ``copy=False`` a float32 input comes back itself (callers that may write it in place pass ``copy=True``)."""
    if out is None:
        if x.dtype == torch.float32 and not copy:
            return x
        out = torch.empty(x.shape, dtype=torch.float32, device=x.device)
    out.copy_(x)
    return out.div_(255) if x.dtype == torch.uint8 else out  # in place: much faster than a mixed-type torch.div


def int16_to_float(x: torch.Tensor) -> torch.Tensor:
    """Stored int16 audio to float32 waveforms in [-1, 1]."""
    return x.float().div_(INT16_FULL_SCALE)


def float_to_int16(clip: torch.Tensor) -> torch.Tensor:
    """Float waveforms to int16 for storage (clipped to [-1, 1], rounded)."""
    return (clip.clamp(-1, 1) * INT16_FULL_SCALE).round().to(torch.int16)
