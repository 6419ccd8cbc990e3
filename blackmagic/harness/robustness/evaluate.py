"""Evaluate checkpoints on a recipe's test set, clean and under every cell of a suite, with ``trainer.test``.

The recipe is built by the project's LightningCLI with the suite as the datamodule's ``test_shifts``, so each
number is the one ``blackmagic test -c RECIPE --data.init_args.test_shifts SUITE --ckpt_path CKPT`` logs.
No run folder, logger or config file is written.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Sequence

from jsonargparse import Namespace

from ...augment import SpecError
from ...augment.suite import default_suite, read_suite
from ..adapt_bn import AdaptBatchNorm
from ..checkpoint_io import read_checkpoint
from ..cli import BlackmagicCLI
from .heatmap import save_heatmap
from .results import Row, rows_of, write_csv


class ReportCLI(BlackmagicCLI):
    """The recipe's trainer, model and datamodule, with the suite's cells as the shifted test sets.

    Args:
        suite: a suite YAML (or a built-in suite's name) or a mapping, handed to the datamodule as its
            ``test_shifts``; ``None`` takes the built-in suite for the datamodule's kind (image or audio).
        args: ``-c RECIPE`` and any command-line overrides.
    """

    def __init__(self, suite: str | dict | None, args: list[str]):
        self._suite = suite
        super().__init__(args=[*args, "--trainer.logger=false"], run=False, save_config_callback=None)

    def before_instantiate_classes(self) -> None:
        data: Namespace = self.config.data
        if self._suite is None:
            self._suite = str(default_suite(_import(data.class_path).kind))
        data.init_args.test_shifts = self._suite


def robustness(recipe: str | Path, checkpoints: Sequence[str | Path], suite: Any = None,
               out: str | Path | None = None, overrides: Sequence[str] = (), earlier: Sequence[Row] = ()) -> list[Row]:
    """Test every checkpoint on the recipe's test set, clean and under every cell of ``suite``.

    Args:
        recipe: the LightningCLI recipe whose datamodule (and model) to use.
        checkpoints: checkpoints of that recipe's model.
        suite: a suite YAML, a built-in suite's name (``images``, ``audio``) or a mapping (see
            ``augment.suite``); ``None``: the built-in suite for the datamodule's kind.
        out: if given, ``robustness.csv`` and ``robustness.png`` are written into this folder.
        overrides: extra command-line options for the recipe (``--trainer.accelerator cpu``, ...).
        earlier: rows of earlier reports (``results.read_csv``) to put beside these in the CSV and the heatmap.

    Returns:
        The table: per checkpoint, the clean row (``corruption='clean'``, severity 0) and one row per cell. A
        checkpoint tested with ``AdaptBatchNorm`` among the trainer's callbacks is labelled ``PATH [AdaptBatchNorm]``.

    Raises:
        FileNotFoundError: a checkpoint does not exist (the message names it).
        SpecError: the suite is invalid (the message names the corruption, the severity and the key).
        ValueError: a checkpoint was trained with other model settings than the recipe's (the message names
            them): its numbers would be those of another model; test it with its own recipe.
    """
    paths = [str(c) for c in checkpoints]
    if not paths:
        raise ValueError("robustness: give at least one checkpoint")
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"robustness: no such checkpoint file: {', '.join(missing)}")
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise ValueError(f"robustness: checkpoint given more than once: {', '.join(twice)}")
    if suite is not None and not read_suite(suite).cells:  # the layout checked before the recipe is built
        raise ValueError("robustness: the suite holds no corruptions")
    given = str(suite) if isinstance(suite, (str, Path)) else None if suite is None else dict(suite)
    try:
        cli = ReportCLI(given, ["-c", str(recipe), *overrides])
    except ValueError as e:  # jsonargparse buries the datamodule's SpecError in a long union message
        found = _spec_error(e)
        if found is None:
            raise
        raise found from None
    trainer, model, data = cli.trainer, cli.model, cli.datamodule
    rows: list[Row] = list(earlier)
    mark = _adapted(trainer)
    given = {r.checkpoint for r in earlier}
    again = [f"{p}{mark}" for p in paths if f"{p}{mark}" in given]
    if again:
        raise ValueError(f"robustness: an earlier report already holds {', '.join(again)}; its rows and these "
                         "would be one checkpoint's")
    recipe_model = _flat(cli.config.model.as_dict())
    for path in paths:
        _same_model(path, recipe, recipe_model)
        results = trainer.test(model, datamodule=data, ckpt_path=path, weights_only=False, verbose=False)
        found = rows_of(f"{path}{mark}", {k: v for r in results for k, v in r.items()}, data.test_suite)
        if len(found) != 1 + len(data.test_suite.cells):
            raise RuntimeError(f"robustness: testing {path} logged {len(found)} of the "
                               f"{1 + len(data.test_suite.cells)} test sets; is limit_test_batches 0?")
        rows += found
    if out is not None:
        write_csv(rows, Path(out) / "robustness.csv")
        save_heatmap(rows, Path(out) / "robustness.png")
    return rows


# Model settings not compared: those set from the data or the checkpoint (the module rebuilds itself to the members
# a checkpoint holds), and those that only shape training.
LINKED = ("class_names", "in_channels", "sample_rate", "ensemble")
TRAINING_ONLY = ("lr", "weight_decay", "label_smoothing", "net.init_args.spec_augment", "channels_last")  # + layout


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() if not key.startswith("_")
                for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: list(tree) if isinstance(tree, tuple) else tree}


def _settings(flat: dict[str, Any]) -> dict[str, Any]:
    kept = {}
    for key, value in flat.items():
        name = key.removeprefix("init_args.")
        if name.split(".")[0] not in LINKED and not name.startswith(TRAINING_ONLY):
            kept[key] = value
    return kept


def _same_model(path: str, recipe: str | Path, recipe_model: dict[str, Any]) -> None:
    """Refuse a checkpoint whose saved model settings (LightningCLI's, in its hyper_parameters) differ from the
    recipe's: the recipe's model would hold its weights but compute something else (a front end, a flip)."""
    saved = read_checkpoint(path).get("hyper_parameters", {})
    if "_class_path" not in saved:
        return  # not saved by a recipe: nothing to compare
    theirs = _settings({"class_path": saved["_class_path"], **{f"init_args.{k}": v for k, v in _flat(saved).items()}})
    ours = _settings(recipe_model)
    unset = object()
    differ = []
    for key in sorted(set(ours) | set(theirs)):
        a, b = theirs.get(key, unset), ours.get(key, unset)
        # a setting only one side knows (added since) differs only where it is switched on
        if a != b and not (unset in (a, b) and (a if b is unset else b) in (None, False, 0)):
            differ.append(f"{key} (checkpoint {'unset' if a is unset else repr(a)}, "
                          f"recipe {'unset' if b is unset else repr(b)})")
    if differ:
        raise ValueError(f"robustness: {path} was trained with other model settings than {recipe}: "
                         f"{'; '.join(differ)}. Test it with the recipe it was trained with (its run folder's "
                         "config.yaml) and put the reports side by side with --with-report")


def _adapted(trainer) -> str:
    """What a checkpoint's label adds when the test adapts BatchNorm (``AdaptBatchNorm``): `` [AdaptBatchNorm]``
    or `` [AdaptBatchNorm per speaker]``, so that a report beside the plain one tells them apart."""
    found = [c for c in trainer.callbacks if isinstance(c, AdaptBatchNorm)]
    if not found:
        return ""
    return " [AdaptBatchNorm per speaker]" if found[0].per_speaker else " [AdaptBatchNorm]"


def _spec_error(error: BaseException | None) -> SpecError | None:
    """The first ``SpecError`` in an exception's chain of causes."""
    while error is not None and not isinstance(error, SpecError):
        error = error.__cause__ or error.__context__
    return error


def _import(class_path: str):
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)
