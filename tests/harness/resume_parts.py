"""Pieces the resume tests' recipes name by class path: a net with dropout (it draws from torch's global
generator) and a callback that slows each step so that a kill lands mid-epoch."""
from __future__ import annotations

import time

import lightning as L
from torch import nn


class DropoutNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 16, 32), nn.BatchNorm1d(32), nn.PReLU(),
                                 nn.Dropout(0.3), nn.Linear(32, num_classes))

    def forward(self, x):
        return self.net(x)


class SlowSteps(L.Callback):
    def __init__(self, seconds: float = 0.02):
        self.seconds = seconds

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        time.sleep(self.seconds)
