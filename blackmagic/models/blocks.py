"""The practitioner's building blocks: conv -> max-pool -> BatchNorm -> PReLU(0.1), and SqueezeNet Fire modules."""
from __future__ import annotations

import torch
from torch import nn

PRELU_INIT = 0.1


class ConvBlock(nn.Sequential):
    """``k x k`` conv (no bias: BatchNorm follows) -> optional 2x2 max-pool -> BatchNorm -> PReLU.

    The activation comes after pooling: it runs on a quarter of the pixels for the same result.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, pool: bool = True):
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(out_channels), nn.PReLU(out_channels, init=PRELU_INIT)]
        super().__init__(*layers)


class Fire(nn.Module):
    """SqueezeNet Fire module: a 1x1 squeeze, then 1x1 and 3x3 expands concatenated, each with BN + PReLU.

    Shape: (B, in_channels, H, W) -> (B, 2 * expand, H, W)
    """

    def __init__(self, in_channels: int, squeeze: int, expand: int):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(in_channels, squeeze, 1, bias=False), nn.BatchNorm2d(squeeze),
                                     nn.PReLU(squeeze, init=PRELU_INIT))
        self.expand1 = nn.Conv2d(squeeze, expand, 1, bias=False)
        self.expand3 = nn.Conv2d(squeeze, expand, 3, padding=1, bias=False)
        self.out = nn.Sequential(nn.BatchNorm2d(2 * expand), nn.PReLU(2 * expand, init=PRELU_INIT))
        self.out_channels = 2 * expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return self.out(torch.cat([self.expand1(s), self.expand3(s)], dim=1))


class Standardize(nn.Module):
    """Per-image standardisation, ``(x - mean) / std`` over each sample's values: a front end that makes the net
    blind to brightness and contrast, at test time as in training (the std is floored at ``1/sqrt(N)``, as in
    ``tf.image.per_image_standardization``, so a flat image stays finite)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, ...) -> (B, ...)
        flat = x.flatten(1)
        mean = flat.mean(1)
        std = flat.std(1, correction=0).clamp_min(flat.shape[1] ** -0.5)
        shape = (-1,) + (1,) * (x.dim() - 1)
        return (x - mean.view(shape)) / std.view(shape)


def head(channels: int, num_classes: int, dropout: float, wide: int = 256) -> nn.Sequential:
    """Global average pool -> dropout (only after a wide layer, > ``wide`` channels) -> linear classifier."""
    layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dropout > 0 and channels > wide:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(channels, num_classes))
    return nn.Sequential(*layers)
