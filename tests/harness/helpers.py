"""A tiny image task, a net for any input size, a recipe that builds them and checkpoints of it."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from blackmagic.datamodules.base import AugmentedDataModule, Split
from blackmagic.harness.cli import BlackmagicCLI


class PatternDataModule(AugmentedDataModule):
    """12x12 greyscale images of three classes (bright left half, bright top half, bright centre) over seeded
    noise: learnable in a few steps and hurt by the image suite's corruptions."""

    @property
    def class_names(self):
        return ["left", "top", "centre"]

    def load(self):
        g = torch.Generator().manual_seed(1)
        y = torch.arange(90) % 3
        x = torch.rand(90, 1, 12, 12, generator=g) * 0.4
        x[y == 0, :, :, :6] += 0.6
        x[y == 1, :, :6, :] += 0.6
        x[y == 2, :, 3:9, 3:9] += 0.6
        x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
        return {"train": Split(x[:60], y[:60]), "val": Split(x[60:], y[60:]), "test": Split(x[60:], y[60:])}


class PooledNet(nn.Module):
    """Average-pool to 4x4 (images) or 16 steps (audio), then one linear layer."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.linear = nn.Linear(in_channels * 16, num_classes)

    def forward(self, x):
        pooled = F.adaptive_avg_pool2d(x, 4) if x.ndim == 4 else F.adaptive_avg_pool1d(x, 16)
        return self.linear(pooled.flatten(1))


TRAINER = """\
seed_everything: 0
trainer:
  accelerator: cpu
  devices: 1
  enable_progress_bar: false
  enable_model_summary: false
  use_distributed_sampler: false
"""  # the head of the small test recipes: a quiet CPU trainer

RECIPE = TRAINER + """\
model:
  class_path: blackmagic.models.ClassifierModule
  init_args:
    net: {{class_path: tests.harness.helpers.PooledNet}}
data:
  class_path: {data}
  init_args: {{batch_size: 16}}
"""


def write_recipe(folder: Path, data: str = "tests.harness.helpers.PatternDataModule") -> Path:
    path = folder / "tiny.yaml"
    path.write_text(RECIPE.format(data=data))
    return path


def train_checkpoint(recipe: Path, path: Path, epochs: int) -> Path:
    """Train the recipe's model for ``epochs`` and save the checkpoint at ``path``, as ``blackmagic fit`` would
    (its hyperparameters are the recipe's config, so ``blackmagic test --ckpt_path`` can read them)."""
    cli = BlackmagicCLI(args=["-c", str(recipe), "--trainer.max_epochs", str(epochs), "--model.init_args.lr", "0.05",
                              "--trainer.logger=false", "--trainer.enable_checkpointing=false"],
                        run=False, save_config_callback=None)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    cli.trainer.save_checkpoint(path)
    return path
