"""``AccuracyReport``: per-class and per-speaker accuracy, the confusion matrix, and ``blackmagic test`` on a
whole folder of recordings (``test_root``) with a checkpoint whose classes are matched by name."""
import csv

import numpy as np
import pytest
import soundfile

from blackmagic.cli import main
from blackmagic.harness.accuracy_report import AccuracyReport, confusion_figure

from .helpers import TRAINER, train_checkpoint

RATE = 8000
FREQS = {"high": 1800.0, "low": 250.0, "mid": 700.0}
RECIPE = TRAINER + """\
model:
  class_path: blackmagic.models.ClassifierModule
  init_args:
    net:
      class_path: blackmagic.models.AudioNet
      init_args: {n_mels: 20, widths: [8, 16, 32, 32]}  # the sample rate comes from the data
data:
  class_path: blackmagic.datamodules.AudioFolderDataModule
  init_args: {root: ROOT, sample_rate: 8000, seconds: 0.25, batch_size: 8, cache_dir: CACHE}
"""


def tone(freq, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(RATE // 4) / RATE
    return 0.4 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6)) + rng.normal(0, 0.01, len(t))


def write(folder, files):
    """files: (class folder, file stem, tone frequency)"""
    for i, (c, stem, freq) in enumerate(files):
        (folder / c).mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / c / f"{stem}.wav", tone(freq, i), RATE)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    train = write(root / "train", [(c, f"t{i}_nohash_0", f) for c, f in FREQS.items() for i in range(12)])
    recipe = root / "tones.yaml"
    recipe.write_text(RECIPE.replace("ROOT", str(train)).replace("CACHE", str(root / "cache")))
    return recipe, train_checkpoint(recipe, root / "tones.ckpt", epochs=12)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_blackmagic_test_on_a_folder_reports_per_class_and_per_speaker(trained, tmp_path, monkeypatch, capsys):
    recipe, ckpt = trained
    # Two of the three classes, one speaker's "mid" file is really a low tone: mid 2 of 3, cy 1 of 2.
    files = [("mid", f"{s}_nohash_0", FREQS["mid"]) for s in ("ann", "bob")] + [("mid", "cy_nohash_0", FREQS["low"])]
    files += [("low", f"{s}_nohash_1", FREQS["low"]) for s in ("ann", "bob", "cy")]
    folder = write(tmp_path / "recordings", files)
    monkeypatch.chdir(tmp_path)
    assert main(["test", "-c", str(recipe), "--data.init_args.root", "null", "--data.init_args.test_root",
                 str(folder), "--ckpt_path", str(ckpt),
                 "--trainer.callbacks+=blackmagic.harness.accuracy_report.AccuracyReport"]) == 0
    run = tmp_path / "runs" / "tones" / "version_0"
    report = run / "test_report"
    assert {p.name for p in report.iterdir()} == {"per_class.csv", "per_speaker.csv", "confusion.csv", "confusion.png"}
    assert [(r["class"], r["samples"], r["correct"]) for r in rows(report / "per_class.csv")] == [
        ("low", "3", "3"), ("mid", "3", "2")]
    assert [(r["speaker"], r["samples"], r["correct"]) for r in rows(report / "per_speaker.csv")] == [
        ("ann", "2", "2"), ("bob", "2", "2"), ("cy", "2", "1")]
    confusion = {r["true \\ predicted"]: [int(v) for k, v in r.items() if k != "true \\ predicted"]
                 for r in rows(report / "confusion.csv")}
    assert confusion == {"high": [0, 0, 0], "low": [0, 3, 0], "mid": [0, 1, 2]}, "the checkpoint's classes, by name"
    logged = [r for r in rows(run / "metrics.csv") if r.get("test_acc")][-1]
    assert float(logged["test_acc"]) == pytest.approx(5 / 6)
    assert (report / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "Test accuracy per class (6 samples)" in out and "Test accuracy per speaker (3 speakers)" in out


def test_a_folder_with_a_class_the_checkpoint_lacks_is_refused(trained, tmp_path, monkeypatch):
    recipe, ckpt = trained
    folder = write(tmp_path / "recordings", [("low", "a_nohash_0", 250.0), ("hiss", "a_nohash_1", 3000.0)])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"classes \['hiss'\] that the model does not know"):
        main(["test", "-c", str(recipe), "--data.init_args.root", "null", "--data.init_args.test_root", str(folder),
              "--ckpt_path", str(ckpt)])


def test_report_counts_per_class_and_speaker(tmp_path, capsys):
    report = AccuracyReport()
    names = ["a", "b", "c"]
    labels, preds = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    report.report(names, preds, labels, ["x", "y", "x", "y", None], tmp_path)
    per_class = [(r["class"], r["correct"], r["samples"], float(r["accuracy"]))
                 for r in rows(tmp_path / "per_class.csv")]
    assert per_class == [("a", "1", "2", 0.5), ("b", "2", "2", 1.0), ("c", "0", "1", 0.0)]
    assert [(r["speaker"], r["correct"], r["samples"]) for r in rows(tmp_path / "per_speaker.csv")] == [
        ("x", "2", "2"), ("y", "1", "2")]
    out = capsys.readouterr().out
    assert "Test accuracy per speaker (2 speakers)" in out and "wrote per_class.csv" in out


@pytest.mark.parametrize("pattern,stem,speaker", [
    (None, "0a7c2a8d_nohash_3", "0a7c2a8d"),
    (None, "flite-slt_nohash_0", "flite-slt"),
    (None, "recording_17", None),
    (r"^spk(\d+)-", "spk12-take3", "12"),
    (r"(?P<take>\d+)_(?P<speaker>[a-z]+)", "3_ann", "ann"),
    ("stem", "alice", "alice"),
])
def test_speaker_from_the_file_name(pattern, stem, speaker):
    report = AccuracyReport() if pattern is None else AccuracyReport(speaker_pattern=pattern)
    assert report.speaker(stem) == speaker


def test_no_speaker_table_when_no_name_carries_one(tmp_path):
    report = AccuracyReport(show=False)
    assert report.speakers([tmp_path / "a.wav", tmp_path / "b.wav"]) is None
    report.report(["a", "b"], np.array([0, 1]), np.array([0, 0]), None, tmp_path)
    assert not (tmp_path / "per_speaker.csv").exists() and (tmp_path / "per_class.csv").is_file()


def test_confusion_figure_names_the_classes_and_colours_rows_by_fraction():
    confusion = np.array([[3, 1, 0], [0, 0, 0], [2, 0, 2]])
    fig = confusion_figure(confusion, ["cat", "dog", "emu"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "emu"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "emu"], "rows: only the classes tested"
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25, 0], [0.5, 0, 0.5]])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "2", "3"]
    assert fig.axes[1].get_ylabel() == "fraction of the true class"
