import json
from functools import partial

import lightning as L
import pytest

from blackmagic.models import AudioNet, ClassifierModule
from blackmagic.models.export import export

from ..helpers import IndexedDataModule, TinyNet, ToneDataModule


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_export_writes_matching_torchscript_and_onnx_with_a_report(kind, tmp_path):
    if kind == "image":
        dm, net, shape = IndexedDataModule(n=40, batch_size=8), TinyNet, [1, 4, 4]
    else:
        dm, net, shape = ToneDataModule(batch_size=8), partial(AudioNet, sample_rate=8000, n_mels=16), [1, 2000]
    model = ClassifierModule(net, class_names=dm.class_names, ensemble=2)
    trainer = L.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, use_distributed_sampler=False,
                        limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    report = export(tmp_path / "m.ckpt", tmp_path / "out")  # export itself checks TorchScript and ONNX outputs
    assert report["input_shape"] == shape and report["ensemble"] == 2
    assert json.loads((tmp_path / "out" / "classes.json").read_text()) == dm.class_names
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["classes.json", "model.onnx", "model.ts", "report.json"]
    assert all(v > 0 for v in report["cpu_ms_batch64"].values())


def test_export_names_a_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        export(tmp_path / "nope.ckpt", tmp_path / "out")
