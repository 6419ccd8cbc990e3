"""A small image classifier: conv blocks to shrink, Fire modules to widen cheaply (< 1 M parameters)."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBlock, Fire, Standardize, head


class SmallImageNet(nn.Module):
    """conv(32)+pool -> conv(64)+pool -> Fire(128) -> Fire(256)+pool -> Fire(384) -> pool -> dropout -> linear.

    About 180 k parameters and 8 M multiply-adds for a 28x28 image: small enough to train Fashion-MNIST on
    a laptop CPU, wide enough at the end for dropout to pay.

    Args:
        in_channels: image channels (1 or 3).
        num_classes: outputs.
        widths: output channels of the five stages.
        dropout: dropout before the classifier (applied only when the last stage is wider than 256).
        standardize: per-image standardisation as the first layer (``Standardize``): invariance to brightness
            and contrast that holds at test time too.

    Shape: (B, in_channels, H, W) in [-1, 1] -> (B, num_classes) logits.
    """

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...] = (32, 64, 128, 256, 384),
                 dropout: float = 0.25, standardize: bool = False):
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"SmallImageNet: widths needs 5 stage widths, got {list(widths)}")
        w1, w2, w3, w4, w5 = widths
        self.front = Standardize() if standardize else nn.Identity()
        self.features = nn.Sequential(
            ConvBlock(in_channels, w1),  # H/2
            ConvBlock(w1, w2),  # H/4
            Fire(w2, w3 // 8, w3 // 2),
            Fire(w3, w4 // 8, w4 // 2),
            nn.MaxPool2d(2),  # H/8
            Fire(w4, w5 // 8, w5 // 2),
        )
        self.classifier = head(w5, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.front(x)))
