"""Per-sample statistics of waveform batches (B, C, T), as audiomentations computes them per clip."""
from __future__ import annotations

import torch


def rms(x: torch.Tensor) -> torch.Tensor:
    """Root mean square per channel, averaged over channels: (B, C, T) -> (B,)."""
    return torch.linalg.vector_norm(x, dim=-1).mean(-1) / x.shape[-1] ** 0.5

