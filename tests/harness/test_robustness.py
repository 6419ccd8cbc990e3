"""``blackmagic robustness``: the report's numbers are ``blackmagic test``'s, its files and its errors."""
import csv
import shutil

import pytest

from blackmagic.augment import SpecError
from blackmagic.augment.suite import read_suite
from blackmagic.cli import main
from blackmagic.harness.robustness import heatmap, robustness
from blackmagic.harness.robustness.results import COLUMNS

from .helpers import train_checkpoint, write_recipe

SUITE = """\
noise:
  - [noise: {std: [0.1, 0.1], p: 1}]
  - [noise: {std: [0.3, 0.3], p: 1}]
translate:
  - - one_of: [{translate: {x: [3, 3], p: 1}}, {translate: {x: [-3, -3], p: 1}}]
rotated: [rotate: {degrees: [25, 25], p: 1}]
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A recipe, two checkpoints of its model (1 and 6 epochs) and a small suite file."""
    root = tmp_path_factory.mktemp("robustness")
    recipe = write_recipe(root)
    early = train_checkpoint(recipe, root / "early.ckpt", epochs=1)
    late = train_checkpoint(recipe, root / "late.ckpt", epochs=6)
    (root / "suite.yaml").write_text(SUITE)
    return {"recipe": recipe, "early": early, "late": late, "suite": root / "suite.yaml"}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_numbers_are_those_of_blackmagic_test_on_the_same_shifted_sets(work, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = robustness(work["recipe"], [work["late"]])  # the default suite: images
    assert not list(tmp_path.iterdir()), "the report wrote a run folder, a log or a config"
    assert main(["test", "-c", str(work["recipe"]), "--ckpt_path", str(work["late"]),
                 "--data.init_args.test_shifts", "images"]) == 0
    logged = read_csv(tmp_path / "runs" / "tiny" / "version_0" / "metrics.csv")[-1]
    cells = read_suite("images").cells
    assert [(r.corruption, r.severity) for r in rows] == [("clean", 0)] + [(c.corruption, c.severity) for c in cells]
    for row, key in zip(rows, ["test"] + [f"test_{c.name}" for c in cells]):
        for metric, name in (("accuracy", "acc"), ("nll", "nll"), ("ece", "ece")):
            assert getattr(row, metric) == pytest.approx(float(logged[f"{key}_{name}"]), rel=1e-6, abs=1e-7)
    assert len({r.accuracy for r in rows}) > 3, "the corruptions should change the accuracy of this model"


def test_csv_has_the_documented_columns_and_a_row_per_checkpoint_and_cell(work, tmp_path):
    rows = robustness(work["recipe"], [work["early"], work["late"]], work["suite"], tmp_path / "out")
    written = read_csv(tmp_path / "out" / "robustness.csv")
    assert list(written[0]) == COLUMNS == ["checkpoint", "corruption", "severity", "accuracy", "nll", "ece"]
    cells = [("clean", "0"), ("noise", "1"), ("noise", "2"), ("translate", "1"), ("rotated", "1")]
    assert [(r["checkpoint"], r["corruption"], r["severity"]) for r in written] == [
        (str(ckpt), c, s) for ckpt in (work["early"], work["late"]) for c, s in cells]
    for row, line in zip(rows, written):
        assert float(line["accuracy"]) == row.accuracy and float(line["nll"]) == row.nll
        assert 0 <= row.accuracy <= 1 and row.nll > 0 and 0 <= row.ece <= 1
    noise = [r.nll for r in rows if r.checkpoint == str(work["late"]) and r.corruption in ("clean", "noise")]
    assert noise == sorted(noise), "stronger noise should cost likelihood"


def test_png_has_one_panel_per_checkpoint_on_one_colour_scale(work, tmp_path):
    rows = robustness(work["recipe"], [work["early"], work["late"]], work["suite"], tmp_path)
    assert (tmp_path / "robustness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = heatmap(rows)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2
    assert [ax.get_title().splitlines()[0] for ax in panels] == ["early.ckpt", "late.ckpt"]
    late = [r for r in rows if r.checkpoint == str(work["late"])]
    suite_mean = sum(r.accuracy for r in late[1:]) / 4
    expected = f"clean {100 * late[0].accuracy:.2f} %, mean {100 * suite_mean:.2f} %"
    assert panels[1].get_title().splitlines()[1] == expected
    assert len({ax.images[0].get_clim() for ax in panels}) == 1, "panels on different colour scales"
    assert panels[0].images[0].get_array().shape == (3, 2)  # noise, translate, rotated x severities 1, 2
    printed = sorted(t.get_text() for t in panels[1].texts)
    assert printed == sorted(f"{100 * r.accuracy:.1f}" for r in late[1:])


def test_the_same_corrupted_sets_in_every_run(work, tmp_path):
    twin = shutil.copy(work["late"], tmp_path / "twin.ckpt")
    rows = robustness(work["recipe"], [work["late"], twin], work["suite"])
    first, second = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    assert [(r.accuracy, r.nll, r.ece) for r in first] == [(r.accuracy, r.nll, r.ece) for r in second]
    again = robustness(work["recipe"], [work["late"]], work["suite"])
    assert [(r.accuracy, r.nll) for r in again] == [(r.accuracy, r.nll) for r in first]


def test_a_bad_suite_fails_naming_the_corruption_and_the_key(work):
    bad = {"noise": [[{"noise": {"std": [0.1, 0.1]}}], [{"noise": {"sd": [0.2, 0.2]}}]]}
    with pytest.raises(SpecError, match=r"PatternDataModule.test_shifts.noise, severity 2: .*op 'noise', key 'sd'"):
        robustness(work["recipe"], [work["late"]], bad)


def test_a_missing_checkpoint_is_named(work, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no such checkpoint file: .*missing.ckpt"):
        robustness(work["recipe"], [work["late"], tmp_path / "missing.ckpt"])
    with pytest.raises(SystemExit):
        main(["robustness", "-c", str(work["recipe"]), "--ckpt", str(tmp_path / "gone.ckpt"), "--out", str(tmp_path)])
    assert "gone.ckpt" in capsys.readouterr().err


def test_command_writes_the_report_passes_overrides_and_prints_the_table(work, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["robustness", "-c", str(work["recipe"]), "--ckpt", str(work["early"]), "--compare", str(work["late"]),
                 "--suite", str(work["suite"]), "--out", str(out),
                 "--data.init_args.eval_batch_size", "10", "--trainer.limit_test_batches", "0.34"]) == 0
    written = read_csv(out / "robustness.csv")
    assert len(written) == 2 * 5 and (out / "robustness.png").is_file()
    tenths = [10 * float(r["accuracy"]) for r in written]
    assert all(round(t, 4).is_integer() for t in tenths), "not one batch of 10 of the 30 images"
    text = capsys.readouterr().out
    for label in ("clean", "noise", "translate", "rotated", "suite mean", "early.ckpt", "late.ckpt"):
        assert label in text
    late = [r for r in written if r["checkpoint"] == str(work["late"])]
    assert f"{100 * sum(float(r['accuracy']) for r in late[1:]) / 4:.2f}" in text


def test_an_audio_recipe_gets_the_audio_suite(tmp_path):
    recipe = write_recipe(tmp_path, data="tests.helpers.ToneDataModule")
    ckpt = train_checkpoint(recipe, tmp_path / "tone.ckpt", epochs=1)
    rows = robustness(recipe, [ckpt])
    audio = read_suite("audio")
    assert [(r.corruption, r.severity) for r in rows[1:]] == [(c.corruption, c.severity) for c in audio.cells]


NET = "    net: {class_path: tests.harness.helpers.PooledNet}\n"


def recipe_with(work, path, model_line):
    """The tiny recipe with one more model setting after its net."""
    text = work["recipe"].read_text()
    assert NET in text, "the tiny recipe's net line changed"
    path.write_text(text.replace(NET, NET + model_line, 1))
    return path


def test_an_ensembles_checkpoint_is_tested_with_the_single_nets_recipe(work, tmp_path):
    """The module rebuilds itself to the members a checkpoint holds: the ensemble's size is not a setting to refuse."""
    pair = recipe_with(work, tmp_path / "pair.yaml", "    ensemble: 2\n")
    ckpt = train_checkpoint(pair, tmp_path / "pair.ckpt", epochs=1)
    rows = robustness(work["recipe"], [ckpt], work["suite"])
    assert len(rows) == 5 and {r.checkpoint for r in rows} == {str(ckpt)}
    assert all(0 <= r.accuracy <= 1 for r in rows)


def test_a_checkpoint_of_other_model_settings_is_refused_naming_them(work, tmp_path):
    flipped = recipe_with(work, tmp_path / "flipped.yaml", "    test_time_flip: true\n")
    other = train_checkpoint(flipped, tmp_path / "flipped.ckpt", epochs=1)
    with pytest.raises(ValueError, match=r"flipped.ckpt was trained with other model settings .*test_time_flip "
                                         r"\(checkpoint True, recipe False\)"):
        robustness(work["recipe"], [work["early"], other], work["suite"])
    # tested with its own recipe, its report goes beside the others
    robustness(flipped, [other], work["suite"], tmp_path / "own")
    assert main(["robustness", "-c", str(work["recipe"]), "--ckpt", str(work["late"]), "--suite", str(work["suite"]),
                 "--with-report", str(tmp_path / "own" / "robustness.csv"), "--out", str(tmp_path / "both")]) == 0
    both = read_csv(tmp_path / "both" / "robustness.csv")
    assert {r["checkpoint"] for r in both} == {str(other), str(work["late"])} and len(both) == 10
