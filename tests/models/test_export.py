"""``blackmagic export``: a torch.export program and ONNX that match the eager ensemble, and clear errors."""
import json
from functools import partial

import lightning as L
import numpy as np
import onnxruntime
import pytest
import torch

from blackmagic.cli import main
from blackmagic.datamodules.base import AugmentedDataModule, Split
from blackmagic.harness.checkpoint_io import CheckpointError
from blackmagic.models import AudioNet, ClassifierModule
from blackmagic.models.blocks import Standardize
from blackmagic.models.export import export
from blackmagic.models.image_net import SmallImageNet

from ..helpers import ToneDataModule


class SquaresDataModule(AugmentedDataModule):
    """Three classes of 16x16 grey images (a bright square in one of three places, on noise)."""

    @property
    def class_names(self):
        return ["left", "middle", "right"]

    def load(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randint(0, 60, (24, 1, 16, 16), dtype=torch.uint8, generator=g)
        y = torch.arange(24) % 3
        for i, label in enumerate(y.tolist()):
            x[i, :, 6:10, 1 + 5 * label:5 + 5 * label] = 250
        return {"train": Split(x, y), "val": Split(x, y), "test": Split(x, y)}


NETS = {  # kind -> (datamodule, net, one sample's shape)
    "image": (partial(SquaresDataModule, batch_size=8),
              partial(SmallImageNet, widths=(8, 16, 32, 64, 96), standardize=True), [1, 16, 16]),
    "audio": (partial(ToneDataModule, batch_size=8), partial(AudioNet, sample_rate=8000, n_mels=16), [1, 2000]),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A 2-member ensemble of each net, trained for two steps, saved as a Lightning checkpoint."""
    root = tmp_path_factory.mktemp("ckpts")
    out = {}
    for kind, (dm, net, _) in NETS.items():
        dm = dm()
        model = ClassifierModule(net, class_names=dm.class_names, ensemble=2)
        trainer = L.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_progress_bar=False,
                            enable_model_summary=False, default_root_dir=root, use_distributed_sampler=False,
                            limit_val_batches=0, enable_checkpointing=False)
        trainer.fit(model, datamodule=dm)
        trainer.save_checkpoint(root / f"{kind}.ckpt")
        out[kind] = root / f"{kind}.ckpt"
    return out


@pytest.mark.parametrize("kind", sorted(NETS))
def test_export_writes_a_torch_export_program_and_onnx_that_match_eager(kind, checkpoints, tmp_path, capsys):
    _, _, shape = NETS[kind]
    # The command; export itself checks both files against eager at batch 1 and 64.
    assert main(["export", "--ckpt", str(checkpoints[kind]), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "model.pt2" in printed and "torch_export" in printed and "model.ts" not in printed
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classes.json", "model.onnx", "model.pt2", "report.json"]
    eager = ClassifierModule.load_from_checkpoint(checkpoints[kind], map_location="cpu", weights_only=False).eval()
    assert kind != "image" or isinstance(eager.members[0].front, Standardize)
    assert json.loads((tmp_path / "classes.json").read_text()) == eager.class_names

    x = torch.randn(5, *shape, generator=torch.Generator().manual_seed(1)).clamp(-1, 1)  # a batch size not checked
    with torch.no_grad():
        expected = eager(x)  # the members' mean probabilities
        assert not torch.allclose(eager.members[0](x).softmax(-1), expected, atol=1e-4)  # two members that differ
        program = torch.export.load(tmp_path / "model.pt2").module()
        torch.testing.assert_close(program(x), expected, rtol=1e-4, atol=1e-5)
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(probs, expected.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)

    assert report["checkpoint"] == str(checkpoints[kind]) and report["classes"] == eager.class_names
    assert report["input_shape"] == shape and report["ensemble"] == 2 and report["cpu_threads"] >= 1
    assert report["parameters"] == sum(p.numel() for p in eager.members.parameters())
    assert set(report["files_mb"]) == {"model.pt2", "model.onnx"} and min(report["files_mb"].values()) > 0
    for batch in (1, 64):
        assert set(report[f"cpu_ms_batch{batch}"]) == {"eager", "torch_export", "onnxruntime"}
        assert min(report[f"cpu_ms_batch{batch}"].values()) > 0
        errors = report[f"max_abs_error_batch{batch}"]
        assert errors["torch_export"] <= 1e-4 and errors["onnxruntime"] <= 1e-3


@pytest.mark.parametrize("damage,words", [
    ("truncate", ["not a readable checkpoint", "truncated"]),
    ("empty", ["empty (0 bytes)"]),
    ("missing", ["no such checkpoint file"]),
])
def test_a_broken_checkpoint_is_named_and_the_command_exits_2(damage, words, checkpoints, tmp_path, capsys):
    bad = tmp_path / "best.ckpt"
    data = checkpoints["image"].read_bytes()
    if damage != "missing":
        bad.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"")
    with pytest.raises(CheckpointError, match=str(bad)):
        export(bad, tmp_path / "out")
    assert main(["export", "--ckpt", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("blackmagic export: error: ") and str(bad) in err and "Traceback" not in err
    assert all(w in err for w in words), err
    assert not (tmp_path / "out").exists()


def test_test_time_flip_travels_into_the_exported_program(checkpoints, tmp_path):
    ckpt = torch.load(checkpoints["image"], map_location="cpu", weights_only=False)
    ckpt["hyper_parameters"]["test_time_flip"] = True
    flipped = tmp_path / "flip.ckpt"
    torch.save(ckpt, flipped)
    export(flipped, tmp_path / "out")
    program = torch.export.load(str(tmp_path / "out" / "model.pt2")).module()
    x = torch.randn(3, 1, 16, 16)
    torch.testing.assert_close(program(x), program(x.flip(-1)), atol=1e-6, rtol=0)  # symmetric under the mirror
