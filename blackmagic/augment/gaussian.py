"""Per-sample Gaussian kernels, for the blur of images (``blur``) and of spectrograms along time (``time_blur``)."""
import math

import torch


def kernel_size(sigma_max: float) -> int:
    """The default (odd) kernel size for sigmas up to ``sigma_max``: three sigmas either side."""
    return 2 * math.ceil(3 * sigma_max) + 1


def kernels(sigma: torch.Tensor, active: torch.Tensor, size: int, like: torch.Tensor) -> torch.Tensor:
    """(B,) sigmas -> (B, size) normalised Gaussian taps on ``like``'s device and dtype, centred on tap
    ``size // 2``. An inactive sample (or sigma 0) gets a vanishing sigma: its kernel is an exact unit impulse."""
    sigma = torch.where(active, sigma, 0.0).clamp_min(1e-6)
    taps = torch.arange(size, device=like.device, dtype=like.dtype) - size // 2
    kernel = torch.exp(-(taps**2) / (2 * sigma[:, None] ** 2))
    return kernel / kernel.sum(1, keepdim=True)
