"""audiomentations ``TanhDistortion`` on whole batches, with the kernel picked by device.

Per clip: gain ``0.5 / percentile(|x|, 100 - 99 amount)``, ``tanh``, then the RMS restored. On CPU every step
(the percentile by selection, ``tanh``, the two RMS values, the gain) is one NumPy call over the tile, in
place, while the pipeline's audio tile (1 MiB) stays in cache; NumPy's ``tanh`` is vectorised and exact
(torch's on CPU is slow). Measured against a torch version in the same process: 5% less time for the voice
chain. On an accelerator the same maths runs as torch ops without a host sync.
"""
from __future__ import annotations

import numpy as np
import torch

from .audio import rms
from .op import keep_inactive, per_sample
from .percentiles import percentiles, percentiles_np


def tanh_distortion(x: torch.Tensor, amount: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Distort the active clips of ``x`` (B, C, T) float32 by ``amount`` (B,) in [0, 1]; may work in place."""
    if x.device.type == "cpu":
        _tanh_distortion_numpy(x.numpy(), amount.numpy(), active.numpy())
        return x
    return _tanh_distortion_torch(x, amount, active)


def _tanh_distortion_torch(x: torch.Tensor, amount: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    (level,) = percentiles(x.flatten(1).abs(), [100 - 99 * amount], nonnegative=True)
    y = torch.tanh(x * per_sample(0.5 / (level + 1e-6), x))
    before = rms(x)
    post = torch.where(before > 1e-9, before / rms(y), 1.0)
    return keep_inactive(active, y.mul_(per_sample(post, x)), x)


def _tanh_distortion_numpy(x: np.ndarray, amount: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Distort ``x`` (B, C, T) float32 in place: per clip, gain ``0.5 / percentile(|x|, 100 - 99 amount)``,
    ``tanh``, then the RMS (per channel, averaged over channels) restored. Clips whose ``active`` is False
    are left exactly as they were."""
    B, C, T = x.shape
    if not active.any():
        return x
    kept = x[~active] if not active.all() else None  # a copy (boolean indexing)
    magnitude = np.abs(x.reshape(B, C * T))
    (level,) = percentiles_np(magnitude, (100 - 99 * amount.astype(np.float64))[:, None], nonnegative=True)
    before = _rms(x)
    np.multiply(x, (0.5 / (level + np.float32(1e-6)))[:, None, None], out=x)
    np.tanh(x, out=x)
    after = _rms(x)
    post = np.where(before > 1e-9, before / np.where(after > 0, after, 1), 1).astype(np.float32)
    np.multiply(x, post[:, None, None], out=x)
    if kept is not None:
        x[~active] = kept
    return x


def _rms(x: np.ndarray) -> np.ndarray:
    """(B, C, T) -> (B,): the RMS of each channel, averaged over channels."""
    squares = np.matmul(x[..., None, :], x[..., :, None])[..., 0, 0]  # (B, C): batched dot products (BLAS)
    return np.sqrt(squares / x.shape[-1]).mean(1)
