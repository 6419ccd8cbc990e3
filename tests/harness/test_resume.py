"""Resume that loses nothing: a real ``blackmagic fit`` killed with SIGKILL mid-epoch and resumed with
``--ckpt_path last`` continues in its run folder and ends bit-identical to the run that was never killed
(weights, optimizer, metrics.csv), with augmentation draws and dropout included."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
BATCHES = 30  # per epoch: 240 samples in batches of 8

RECIPE = """
seed_everything: 0
trainer:
  accelerator: cpu
  devices: 1
  max_epochs: 4
  enable_progress_bar: false
  enable_model_summary: false
  log_every_n_steps: 5
  callbacks:
    - class_path: lightning.pytorch.callbacks.ModelCheckpoint
      init_args: {{monitor: val_acc, mode: max, filename: best}}
    - class_path: blackmagic.harness.callbacks.LastCheckpoint
      init_args: {{every_n_steps: {every}}}
    - class_path: tests.harness.resume_parts.SlowSteps
      init_args: {{seconds: 0.03}}
model:
  class_path: blackmagic.models.ClassifierModule
  init_args:
    net: {{class_path: tests.harness.resume_parts.DropoutNet}}
    lr: 0.01
data:
  class_path: tests.helpers.IndexedDataModule
  init_args:
    n: 240
    batch_size: 8
    augment: [{{noise: {{std: [0.0, 0.2]}}}}, {{pixel_dropout: {{rate: [0.0, 0.2]}}}}]
"""


def fit(recipe: Path, runs: Path, *extra: str, wait: bool = True):
    cmd = [sys.executable, "-m", "blackmagic.cli", "fit", "-c", str(recipe), "--runs_dir", str(runs), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if wait:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_folder(runs: Path, recipe: Path) -> Path:
    folders = sorted((runs / recipe.stem).glob("version_*"))
    assert len(folders) == 1, f"expected one run folder, found {folders}"
    return folders[0]


def checkpoint_step(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=False)["global_step"])
    except (FileNotFoundError, RuntimeError, EOFError):
        return -1


def kill_when(proc: subprocess.Popen, ckpt: Path, ready, deadline: float = 300) -> int:
    """SIGKILL ``proc`` a few steps after its last.ckpt satisfies ``ready(step)``; returns that step."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        step = checkpoint_step(ckpt) if ckpt.is_file() else -1
        if step >= 0 and ready(step):
            time.sleep(0.4)  # some steps past the checkpoint, in the middle of an epoch
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return step
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("no checkpoint appeared in time")


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("every, ready", [
    (1000, lambda step: step == 2 * BATCHES),  # only the epoch-end last.ckpt: resume at the start of epoch 2
    (7, lambda step: step > BATCHES and step % BATCHES),  # a mid-epoch last.ckpt: resume inside epoch 1 or 2
], ids=["epoch-end", "mid-epoch"])
def test_killed_and_resumed_run_ends_as_the_uninterrupted_one(tmp_path, every, ready):
    recipe = tmp_path / "resume.yaml"
    recipe.write_text(RECIPE.format(every=every))
    fit(recipe, tmp_path / "whole")
    whole = run_folder(tmp_path / "whole", recipe)

    proc = fit(recipe, tmp_path / "killed", wait=False)
    last = tmp_path / "killed" / recipe.stem / "version_0" / "checkpoints" / "last.ckpt"
    killed_at = kill_when(proc, last, ready)
    assert checkpoint_step(last) >= killed_at, "the kill left last.ckpt unreadable"
    # resumed from another working directory's view of the same folder (a relative path)
    fit(recipe, Path(os.path.relpath(tmp_path / "killed", ROOT)), "--ckpt_path", "last")
    resumed = run_folder(tmp_path / "killed", recipe)  # the same folder, no second version

    a = torch.load(whole / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    b = torch.load(resumed / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert a["global_step"] == b["global_step"] == 4 * BATCHES
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), f"{key} differs after the resume"
    for sa, sb in zip(a["optimizer_states"][0]["state"].values(), b["optimizer_states"][0]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert rows(whole / "metrics.csv") == rows(resumed / "metrics.csv")
    assert not list(resumed.rglob("*.tmp*")), "a temporary file was left behind"
    # the best-so-far carried over: no second best-v1.ckpt, the same best score as the whole run's
    assert sorted(p.name for p in (resumed / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    best = [next(v for k, v in c["callbacks"].items() if k.startswith("ModelCheckpoint")) for c in (a, b)]
    assert best[0]["best_model_score"] == best[1]["best_model_score"]

