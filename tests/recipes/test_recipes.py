"""Every recipe runs end to end through the ``blackmagic`` command (``fast_dev_run`` on CPU)."""
import csv
import json
import shutil
from pathlib import Path

import pytest

from blackmagic.cli import main
from blackmagic.datamodules.fashion_mnist import DEFAULT_ROOT

from ..datamodules.test_audio_folder import speech_commands_tree
from ..datamodules.test_image_folder import make_tree

RECIPES = Path(__file__).parents[2] / "recipes"
HAVE_FMNIST = Path(DEFAULT_ROOT).is_dir()
HAVE_ESPEAK = shutil.which("espeak-ng") is not None
HAVE_FLITE = shutil.which("flite") is not None


def overrides(recipe: str, tmp_path: Path) -> list[str]:
    """Point each recipe at small data it can use here."""
    cache = ["--data.init_args.cache_dir", str(tmp_path / "cache")]
    if recipe == "image_folder":
        return ["--data.init_args.root", str(make_tree(tmp_path / "images", per_class=12)), "--data.init_args.size", "32",
                *cache]
    if recipe == "audio_folder":
        return ["--data.init_args.root", str(speech_commands_tree(tmp_path / "sc")), *cache]
    if recipe.startswith("keywords"):  # two words, few voices (the transfer recipes test on flite's)
        voices = "[m1, m2, f1, f2, croak]" if recipe == "keywords" else "[m1, m2, f1, slt, awb]"
        return ["--data.init_args.words", '["yes", "no"]', "--data.init_args.voices", voices,
                "--data.init_args.held_out_voices", "1", "--data.init_args.clips_per_voice", "2",
                "--data.init_args.root", str(tmp_path / "kw"), *cache]
    return []


def available(recipe: str) -> bool:
    """Whether a recipe's data (or an overlay's library, named ``overlays/NAME``) is here."""
    if "dali" in recipe:
        from importlib.util import find_spec

        return find_spec("nvidia.dali") is not None
    if recipe.startswith(("fashion_mnist", "overfit")):
        return HAVE_FMNIST
    if recipe == "keywords":
        return HAVE_ESPEAK
    if recipe.startswith("keywords"):
        return HAVE_ESPEAK and HAVE_FLITE
    return True


ALL = sorted(p.stem for p in RECIPES.glob("*.yaml"))


@pytest.mark.parametrize("recipe", ALL)
def test_recipe_fast_dev_run(recipe, tmp_path, monkeypatch):
    if not available(recipe):
        pytest.skip(f"the data for {recipe} is not installed")
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "-c", str(RECIPES / f"{recipe}.yaml"), "--trainer.fast_dev_run", "true",
            "--trainer.accelerator", "cpu", *overrides(recipe, tmp_path)]
    assert main(argv) == 0


OVERLAID = [("fashion_mnist", "fashion_mnist_dali"), ("image_folder", "dali"),
            ("fashion_mnist", "ensemble"), ("fashion_mnist", "ensemble_small"), ("keywords_transfer", "letters")]


@pytest.mark.parametrize("recipe,overlay", OVERLAID)
def test_overlay_fast_dev_run(recipe, overlay, tmp_path, monkeypatch):
    """A recipe layered with an overlay (LightningCLI's repeated ``-c``) runs end to end."""
    if not (available(recipe) and available(f"overlays/{overlay}")):
        pytest.skip(f"the data for {recipe} or what overlays/{overlay} needs is not installed")
    monkeypatch.chdir(tmp_path)
    extra = overrides(recipe, tmp_path)
    if overlay == "letters":  # the overlay's own words, not the two the override names
        at = extra.index("--data.init_args.words")
        extra = extra[:at] + extra[at + 2:]
    argv = ["fit", "-c", str(RECIPES / f"{recipe}.yaml"), "-c", str(RECIPES / "overlays" / f"{overlay}.yaml"),
            "--trainer.fast_dev_run", "true", "--trainer.accelerator", "cpu", *extra]
    assert main(argv) == 0


@pytest.mark.skipif(not HAVE_FMNIST, reason="Fashion-MNIST is not installed")
def test_train_writes_the_run_folder_and_export_reads_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "-c", str(RECIPES / "fashion_mnist.yaml"), "--trainer.max_epochs", "1",
            "--trainer.check_val_every_n_epoch", "1", "--trainer.limit_train_batches", "5", "--trainer.limit_val_batches", "2", "--trainer.limit_test_batches", "2",
            "--trainer.accelerator", "cpu"]
    assert main(argv) == 0
    run = tmp_path / "runs" / "fashion_mnist" / "version_0"
    assert (run / "config.yaml").is_file() and list(run.glob("events.out.tfevents.*"))
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    tested = [r for r in rows if r.get("test_acc")]
    assert tested and 0 <= float(tested[-1]["test_acc"]) <= 1
    assert {"test_rotate_3_acc", "test_noise_3_acc", "test_chain_3_acc"} <= set(rows[0])  # the images suite
    out = capsys.readouterr().out
    assert "test_acc" in out and "suite mean" in out and str(Path("runs") / "fashion_mnist" / "version_0") in out

    assert main(["train", "-c", str(RECIPES / "fashion_mnist.yaml"), "--trainer.fast_dev_run", "true",
                 "--trainer.accelerator", "cpu"]) == 0  # fast_dev_run writes no run folder
    assert not (tmp_path / "runs" / "fashion_mnist" / "version_1").exists()

    assert main(["export", "--ckpt", str(run / "checkpoints" / "best.ckpt"), "--out", str(tmp_path / "exp")]) == 0
    report = json.loads((tmp_path / "exp" / "report.json").read_text())
    assert report["input_shape"] == [1, 28, 28] and report["parameters"] < 1_000_000
    assert report["classes"][0] == "t-shirt/top"
    assert set(report["files_mb"]) == {"model.pt2", "model.onnx"} and report["cpu_ms_batch1"]["torch_export"] > 0
    assert report["cpu_ms_batch1"]["onnxruntime"] > 0 and not (tmp_path / "exp" / "model.ts").exists()


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_FMNIST, reason="Fashion-MNIST is not installed")
def test_overfit_recipe_drives_training_loss_below_0_01(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "-c", str(RECIPES / "overfit.yaml"), "--trainer.accelerator", "cpu"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "runs" / "overfit" / "version_0" / "metrics.csv")))
    last = [float(r["train_loss_epoch"]) for r in rows if r.get("train_loss_epoch")][-1]
    assert last < 0.01, f"the 64-sample overfit ended at loss {last}"


@pytest.mark.slow
@pytest.mark.skipif(not (HAVE_ESPEAK and HAVE_FLITE), reason="espeak-ng or flite is not installed")
def test_transfer_recipe_trains_on_espeak_and_reports_flite_voices(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "-c", str(RECIPES / "keywords_transfer.yaml"), "--trainer.max_epochs", "1",
            "--trainer.accelerator", "cpu", *overrides("keywords_transfer", tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "test_acc" in out and "Test accuracy per speaker (2 speakers)" in out
    report = tmp_path / "runs" / "keywords_transfer" / "version_0" / "test_report"
    speakers = [r["speaker"] for r in csv.DictReader(open(report / "per_speaker.csv"))]
    assert speakers == ["flite-awb", "flite-slt"], "the test set is flite's voices alone"
    assert {r["class"] for r in csv.DictReader(open(report / "per_class.csv"))} == {"no", "yes"}


def test_the_audio_net_takes_its_sample_rate_from_the_datamodule(tmp_path, monkeypatch):
    from blackmagic.harness.cli import BlackmagicCLI

    monkeypatch.chdir(tmp_path)
    argv = ["-c", str(RECIPES / "audio_folder.yaml"), "--data.init_args.sample_rate", "8000",
            "--trainer.accelerator", "cpu", *overrides("audio_folder", tmp_path)]
    cli = BlackmagicCLI(args=argv, run=False)
    assert cli.datamodule.sample_rate == 8000
    assert {m.front.sample_rate for m in cli.model.members} == {8000}
    assert cli.model.members[0].front.mel.sample_rate == 8000
