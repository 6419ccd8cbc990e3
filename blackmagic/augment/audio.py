"""Per-sample statistics of waveform batches (B, C, T), as audiomentations computes them per clip."""
from __future__ import annotations

import torch


def rms(x: torch.Tensor) -> torch.Tensor:
    """Root mean square per channel, averaged over channels: (B, C, T) -> (B,)."""
    return torch.linalg.vector_norm(x, dim=-1).mean(-1) / x.shape[-1] ** 0.5


def percentile(sorted_rows: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Per-row percentile ``q`` (B,) in [0, 100] of sorted rows (B, N), with NumPy's 'linear' rule."""
    n = sorted_rows.shape[1]
    pos = (q.to(torch.float64) / 100 * (n - 1)).clamp(0, n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    t = (pos - lo).to(sorted_rows.dtype)
    a = sorted_rows.gather(1, lo[:, None])[:, 0]
    b = sorted_rows.gather(1, hi[:, None])[:, 0]
    d = b - a
    return torch.where(t >= 0.5, b - d * (1 - t), a + d * t)  # NumPy's _lerp, both halves
