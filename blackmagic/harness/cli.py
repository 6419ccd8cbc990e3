"""``blackmagic fit|validate|test|predict -c recipes/NAME.yaml``: LightningCLI with the project's wiring.

- the datamodule's class names and channels are linked into the model;
- without a logger in the recipe, every run writes CSV metrics and TensorBoard events to one folder,
  ``runs/<recipe>/version_<n>/``, beside the resolved config and the checkpoints;
- checkpoints are written atomically and carry the global random states (``callbacks.ResumableRandomState``);
- ``--ckpt_path last`` resumes the newest run of the recipe in its own run folder (``run_folders``);
- a recipe's ``bf16-mixed`` trains in float32 where the hardware would only emulate bfloat16 (``precision``).
"""
from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import yaml
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger

from ..datamodules.base import AugmentedDataModule
from ..models.classifier import ClassifierModule
from .callbacks import ResumableRandomState
from .checkpoint_io import AtomicCheckpointIO, CheckpointError, read_checkpoint
from .precision import native_precision
from .run_folders import Resume, RunCSVLogger, find_last, next_version

RESUMING = ("fit", None)  # subcommands that continue a run in its folder (None: ``blackmagic train``)
# ``blackmagic train ...`` hands LightningCLI the arguments after its own subcommand: that is intended here.
warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended to run from within Python")


class RecipeError(ValueError):
    """A recipe file cannot be read; the message names it."""


def config_files(argv: list[str]) -> list[str]:
    """The values of every ``-c/--config`` option."""
    found = []
    for i, arg in enumerate(argv):
        if arg in ("-c", "--config") and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--config="):
            found.append(arg.split("=", 1)[1])
    return found


def check_recipes(argv: list[str]) -> None:
    """Every recipe file exists and is valid YAML, else a ``RecipeError`` naming the file, line and column."""
    for name in config_files(argv):
        path = Path(name)
        if not path.is_file():
            raise RecipeError(f"{path}: no such recipe file")
        try:
            yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise RecipeError(f"{path}: not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None


def recipe_name(argv: list[str]) -> str:
    """The run's name: the stems of its ``-c/--config`` files joined by ``+`` (a recipe and its overlays, e.g.
    ``fashion_mnist+ensemble``), else ``run``."""
    files = config_files(argv)
    return "+".join(Path(f).stem for f in files) if files else "run"


class BlackmagicCLI(LightningCLI):
    def __init__(self, args: list[str] | None = None, run: bool = True, **kwargs):
        argv = list(sys.argv[1:] if args is None else args)
        check_recipes(argv)
        self._run_name = recipe_name(argv)
        self._standalone = not run  # ``blackmagic train``: no subcommand, so ckpt_path is ours to add
        self.resume: Resume | None = None
        super().__init__(ClassifierModule, AugmentedDataModule, subclass_mode_model=True, subclass_mode_data=True,
                         args=args, run=run, save_config_kwargs={"overwrite": True}, **kwargs)

    def add_arguments_to_parser(self, parser):
        parser.add_argument("--runs_dir", default="runs", help="where run folders go: RUNS_DIR/<recipe>/version_<n>")
        if self._standalone:
            parser.add_argument("--ckpt_path", default=None, help="resume from this checkpoint, or 'last'")
        parser.link_arguments("data.class_names", "model.init_args.class_names", apply_on="instantiate")
        parser.link_arguments("data.channels", "model.init_args.in_channels", apply_on="instantiate")
        parser.link_arguments("data.sample_rate", "model.init_args.sample_rate", apply_on="instantiate")

    @property
    def ckpt_path(self) -> str | None:
        """The checkpoint to start from, with ``last`` resolved to a file (see ``run_folders.find_last``)."""
        config = self.config_init[self.subcommand] if self.subcommand else self.config_init
        return config.get("ckpt_path")

    def _parse_ckpt_path(self) -> None:
        # LightningCLI reads the checkpoint's hyperparameters here (``fit --ckpt_path ...``): resolve ``last`` and
        # check the file first, so that a missing or broken checkpoint is named instead of failing in torch.load.
        if self.config.get("subcommand"):
            self._resolve_ckpt_path(self.config[self.config.subcommand], self.config.subcommand)
        try:
            super()._parse_ckpt_path()
        except pickle.UnpicklingError:  # hyperparameters that weights_only=True cannot read (a net class, say):
            pass  # the recipe's own model settings apply

    def _resolve_ckpt_path(self, config, subcommand: str | None) -> None:
        ckpt = config.get("ckpt_path")
        if ckpt == "last":
            found = find_last(Path(config.runs_dir), self._run_name)
            config["ckpt_path"] = str(found.checkpoint)
            self.resume = found if subcommand in RESUMING else None
        elif ckpt not in (None, "best", "hpc"):
            read_checkpoint(ckpt)

    def instantiate_trainer(self, **kwargs):
        config = self.config[self.subcommand] if self.subcommand else self.config
        if self.subcommand is None:  # ``blackmagic train``: LightningCLI has no ckpt_path of its own to parse
            self._resolve_ckpt_path(config, None)
            self.config_init["ckpt_path"] = config.get("ckpt_path")
        # absolute, as ModelCheckpoint keeps its best-so-far only where a resumed run's dirpath is the same string
        runs_dir = Path(config.runs_dir).resolve()
        if config.trainer.get("logger") in (None, True):
            version = self.resume.version if self.resume else next_version(runs_dir / self._run_name)
            step = self.resume.step if self.resume else None
            tensorboard = {"purge_step": step} if step is not None else {}
            kwargs["logger"] = [RunCSVLogger(str(runs_dir), self._run_name, version, resume_step=step),
                                TensorBoardLogger(str(runs_dir), name=self._run_name, version=version,
                                                  default_hp_metric=False, **tensorboard)]
        precision, why = native_precision(config.trainer.get("precision"), config.trainer.get("accelerator", "auto"))
        if why:  # bf16 only where the hardware computes it
            config.trainer.precision = kwargs["precision"] = precision
            print(f"blackmagic: {why}", file=sys.stderr)
        trainer_init = self._get(self.config_init, "trainer", default={})
        kwargs["callbacks"] = [*(trainer_init.get("callbacks") or []), ResumableRandomState()]
        if not _has_checkpoint_io(trainer_init.get("plugins")):
            kwargs["plugins"] = [*_as_list(trainer_init.get("plugins")), AtomicCheckpointIO()]
        return super().instantiate_trainer(**kwargs)


def _as_list(value) -> list:
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


def _has_checkpoint_io(plugins) -> bool:
    from lightning.pytorch.plugins.io import CheckpointIO

    return any(isinstance(p, CheckpointIO) for p in _as_list(plugins))


def run_lightning(argv: list[str]) -> int:
    try:
        BlackmagicCLI(args=argv)
    except (RecipeError, CheckpointError) as e:
        print(f"blackmagic: error: {e}", file=sys.stderr)
        return 2
    return 0
