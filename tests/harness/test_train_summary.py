"""``blackmagic train`` sums up the shifted test sets of a suite: each corruption's mean and the suite mean."""
import csv

from blackmagic.augment.suite import read_suite
from blackmagic.cli import main
from blackmagic.harness.train import summary

from .helpers import write_recipe

SUITE = {"noise": [[{"noise": {"std": [0.1, 0.1]}}], [{"noise": {"std": [0.3, 0.3]}}]],
         "rotated": [{"rotate": {"degrees": [20, 20]}}]}


def metrics(acc: dict[str, float]) -> dict[str, float]:
    out = {"test_nll": 0.25, "test_ece": 0.03}
    for name, value in acc.items():
        out |= {f"{name}_acc": value, f"{name}_nll": 1.0, f"{name}_ece": 0.1}
    return out


def test_summary_gives_clean_accuracy_corruption_means_and_the_suite_mean():
    text = summary(metrics({"test": 0.9, "test_noise_1": 0.8, "test_noise_2": 0.5, "test_rotated": 0.6}),
                   "runs/tiny/version_0", None, read_suite(SUITE))
    lines = [line.split() for line in text.splitlines()]
    assert ["test_acc", "90.00", "%"] in lines
    assert ["noise", "65.00", "%", "80.0", "50.0"] in lines  # the mean, then severity 1 and 2
    assert ["rotated", "60.00", "%"] in lines
    assert ["suite", "mean", "63.33", "%"] in lines  # every cell counts once: (0.8 + 0.5 + 0.6) / 3
    assert "test_noise_1_acc" not in text, "each shifted set on its own line again"


def test_summary_without_a_suite_lists_every_accuracy():
    text = summary(metrics({"test": 0.9, "test_noisy": 0.7}), "runs/x", None)
    assert "test_noisy_acc" in text and "suite mean" not in text


def test_train_prints_the_suite_result_of_its_own_test_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "suite.yaml"
    suite.write_text("noise:\n  - [noise: {std: [0.1, 0.1]}]\n  - [noise: {std: [0.3, 0.3]}]\n"
                     "rotated: [rotate: {degrees: [20, 20]}]\n")
    assert main(["train", "-c", str(write_recipe(tmp_path)), "--trainer.max_epochs", "2",
                 "--data.init_args.test_shifts", str(suite)]) == 0
    logged = [r for r in csv.DictReader(open(tmp_path / "runs" / "tiny" / "version_0" / "metrics.csv"))
              if r.get("test_acc")][-1]
    cells = [float(logged[f"test_{name}_acc"]) for name in ("noise_1", "noise_2", "rotated")]
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["test_acc", f"{100 * float(logged['test_acc']):.2f}", "%"] in lines
    noise = f"{100 * (cells[0] + cells[1]) / 2:.2f}"
    assert ["noise", noise, "%", f"{100 * cells[0]:.1f}", f"{100 * cells[1]:.1f}"] in lines
    assert ["suite", "mean", f"{100 * sum(cells) / 3:.2f}", "%"] in lines
