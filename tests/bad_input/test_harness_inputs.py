"""Recipes and checkpoints given to the ``blackmagic`` command: each refusal names the file and what would be
right, with exit code 2 and no traceback."""
from types import SimpleNamespace

import pytest
import torch

from blackmagic.cli import main
from blackmagic.harness.callbacks import LastCheckpoint
from blackmagic.harness.checkpoint_io import CheckpointError, read_checkpoint
from blackmagic.models import ClassifierModule

from ..helpers import TinyNet

RECIPE = """
trainer: {accelerator: cpu, max_epochs: 1, enable_progress_bar: false, enable_model_summary: false}
model:
  class_path: blackmagic.models.ClassifierModule
  init_args: {net: {class_path: tests.helpers.TinyNet}}
data:
  class_path: tests.helpers.IndexedDataModule
  init_args: {n: 24, batch_size: 8}
"""


def fit(tmp_path, *args):
    return main(["fit", "--runs_dir", str(tmp_path / "runs"), *args])


def test_a_recipe_with_a_yaml_error_is_named_with_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  max_epochs: 1\n  callbacks: [unclosed\n")
    assert fit(tmp_path, "-c", str(bad)) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: not valid YAML (line 4" in err or "bad.yaml: not valid YAML (line 3" in err


def test_a_missing_recipe_is_named(tmp_path, capsys):
    assert fit(tmp_path, "-c", str(tmp_path / "nowhere.yaml")) == 2
    assert "nowhere.yaml: no such recipe file" in capsys.readouterr().err


@pytest.mark.parametrize("content, words", [
    (b"", ["empty (0 bytes)", "last.ckpt"]),
    (b"PK\x03\x04 cut short", ["not a readable checkpoint"]),
    (None, ["not a Lightning checkpoint"]),
], ids=["empty", "truncated", "not-lightning"])
def test_broken_checkpoints_are_named_before_training(tmp_path, capsys, content, words):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    ckpt = tmp_path / "broken.ckpt"
    if content is None:
        torch.save({"weights": torch.zeros(3)}, ckpt)
    else:
        ckpt.write_bytes(content)
    with pytest.raises(CheckpointError) as e:
        read_checkpoint(ckpt)
    assert "broken.ckpt" in str(e.value) and all(w in str(e.value) for w in words)
    assert fit(tmp_path, "-c", str(recipe), "--ckpt_path", str(ckpt)) == 2
    err = capsys.readouterr().err
    assert "broken.ckpt" in err and "Traceback" not in err


def test_resuming_last_without_a_run_names_the_folder(tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    assert fit(tmp_path, "-c", str(recipe), "--ckpt_path", "last") == 2
    err = capsys.readouterr().err
    assert "runs/recipe/version_*/checkpoints/last.ckpt" in err and "without --ckpt_path" in err


def test_a_checkpoint_for_other_input_channels_is_refused_naming_both():
    rgb = ClassifierModule(TinyNet, class_names=list("abc"), in_channels=3)
    grey = ClassifierModule(TinyNet, class_names=list("abc"), in_channels=1)
    checkpoint = {"state_dict": rgb.state_dict(), "hyper_parameters": dict(rgb.hparams)}
    grey._trainer = SimpleNamespace(ckpt_path="rgb.ckpt")
    with pytest.raises(ValueError, match=r"checkpoint rgb.ckpt was trained on 3-channel inputs; this data gives 1"):
        grey.on_load_checkpoint(checkpoint)


def test_an_ensemble_checkpoint_loads_into_a_single_member_recipe():
    five = ClassifierModule(TinyNet, class_names=list("abc"), ensemble=5)
    one = ClassifierModule(TinyNet, class_names=list("abc"))
    checkpoint = {"state_dict": five.state_dict(), "hyper_parameters": dict(five.hparams)}
    one.on_load_checkpoint(checkpoint)
    one.load_state_dict(checkpoint["state_dict"])
    assert len(one.members) == 5


@pytest.mark.parametrize("kwargs, key", [({"every_n_minutes": 0}, "every_n_minutes"),
                                         ({"every_n_steps": 0}, "every_n_steps")])
def test_last_checkpoint_intervals_must_be_positive(kwargs, key):
    with pytest.raises(ValueError, match=f"LastCheckpoint: {key} must be"):
        LastCheckpoint(**kwargs)
