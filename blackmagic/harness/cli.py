"""``blackmagic fit|validate|test|predict -c recipes/NAME.yaml``: LightningCLI with the project's wiring.

- the datamodule's class names and channels are linked into the model;
- without a logger in the recipe, every run writes CSV metrics and TensorBoard events to one folder,
  ``runs/<recipe>/version_<n>/``, beside the resolved config and the checkpoints.
"""
from __future__ import annotations

import re
from pathlib import Path

from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from ..datamodules.base import AugmentedDataModule
from ..models.classifier import ClassifierModule


def next_version(root: Path) -> int:
    taken = [int(m.group(1)) for p in root.glob("version_*") if (m := re.fullmatch(r"version_(\d+)", p.name))]
    return max(taken, default=-1) + 1


def recipe_name(argv: list[str]) -> str:
    """The stem of the first ``-c/--config`` file, else ``run``."""
    for i, arg in enumerate(argv):
        if arg in ("-c", "--config") and i + 1 < len(argv):
            return Path(argv[i + 1]).stem
        if arg.startswith("--config="):
            return Path(arg.split("=", 1)[1]).stem
    return "run"


class BlackmagicCLI(LightningCLI):
    def __init__(self, args: list[str] | None = None, run: bool = True, **kwargs):
        self._run_name = recipe_name(list(args or []))
        super().__init__(ClassifierModule, AugmentedDataModule, subclass_mode_model=True, subclass_mode_data=True,
                         args=args, run=run, save_config_kwargs={"overwrite": True}, **kwargs)

    def add_arguments_to_parser(self, parser):
        parser.add_argument("--runs_dir", default="runs", help="where run folders go: RUNS_DIR/<recipe>/version_<n>")
        parser.link_arguments("data.class_names", "model.init_args.class_names", apply_on="instantiate")
        parser.link_arguments("data.channels", "model.init_args.in_channels", apply_on="instantiate")

    def instantiate_trainer(self, **kwargs):
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.trainer.get("logger") in (None, True):
            root = Path(config.runs_dir) / self._run_name
            version = next_version(root)
            kwargs["logger"] = [CSVLogger(config.runs_dir, name=self._run_name, version=version),
                                TensorBoardLogger(config.runs_dir, name=self._run_name, version=version,
                                                  default_hp_metric=False)]
        return super().instantiate_trainer(**kwargs)


def run_lightning(argv: list[str]) -> int:
    BlackmagicCLI(args=argv)
    return 0
