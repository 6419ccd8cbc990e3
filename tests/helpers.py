"""Small synthetic datamodules and modules for harness tests."""
from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import torch
from torch import nn

from blackmagic.datamodules.base import AugmentedDataModule, Split


class IndexedDataModule(AugmentedDataModule):
    """Sample ``i`` is a 1x4x4 image filled with ``i / 255`` (uint8 ``i``), label ``i % 3``: batches reveal
    which samples they hold."""

    def __init__(self, n: int = 120, **kwargs):
        super().__init__(**kwargs)
        self.n = n

    @property
    def class_names(self):
        return ["a", "b", "c"]

    def load(self):
        x = torch.arange(self.n, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()
        y = torch.arange(self.n) % 3
        return {"train": Split(x, y), "val": Split(x[:12], y[:12]), "test": Split(x[:12], y[:12])}


def sample_ids(x: torch.Tensor) -> list[int]:
    """Invert IndexedDataModule's encoding after the [-1, 1] squeeze."""
    return ((x[:, 0, 0, 0] + 1) / 2 * 255).round().long().tolist()


class TinyNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 16, num_classes))  # 4x4 inputs

    def forward(self, x):
        return self.net(x)


class RecordBatches(L.Callback):
    """Writes the sample ids of every training batch, per rank and epoch, to ``folder/rank{r}.json``."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.seen: dict[int, list[list[int]]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen.setdefault(trainer.current_epoch, []).append(sample_ids(batch[0]))

    def on_train_end(self, trainer, pl_module):
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"rank{trainer.global_rank}.json").write_text(json.dumps(self.seen))


class ToneDataModule(AugmentedDataModule):
    """Two classes of 0.25 s tones at 8 kHz (low and high pitch): a tiny audio task."""

    kind = "audio"

    @property
    def class_names(self):
        return ["low", "high"]

    @property
    def sample_rate(self):
        return 8000

    def load(self):
        t = torch.arange(2000) / 8000
        freq = torch.tensor([200.0, 1200.0]).repeat(16)
        x = (0.5 * torch.sin(2 * torch.pi * freq[:, None] * t))[:, None]  # (32, 1, 2000)
        y = torch.arange(32) % 2
        return {"train": Split(x, y), "val": Split(x, y), "test": Split(x, y)}
