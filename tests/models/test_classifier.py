import math

import lightning as L
import pytest
import torch
from torch import nn

from blackmagic.models import ClassifierModule, SmallImageNet
from blackmagic.models.classifier import label_map
from blackmagic.models.metrics import ProbabilityMetrics

from ..helpers import IndexedDataModule, TinyNet


def test_ensemble_averages_member_probabilities():
    model = ClassifierModule(SmallImageNet, class_names=list("abcd"), ensemble=3).eval()
    x = torch.randn(5, 1, 28, 28)
    each = torch.stack([m(x).softmax(-1) for m in model.members])
    torch.testing.assert_close(model(x), each.mean(0))
    assert not torch.allclose(each[0], each[1]), "members share their initialisation"


def test_mc_dropout_varies_per_pass_and_keeps_batchnorm_frozen():
    model = ClassifierModule(SmallImageNet, class_names=list("abc"), mc_dropout=8).eval()
    x = torch.randn(6, 1, 28, 28)
    a, b = model.mc_dropout_probs(x), model.mc_dropout_probs(x)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(a.sum(-1), torch.ones(6))
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert not any(m.training for m in model.modules()), "dropout left on after MC passes"


def test_probability_metrics_match_hand_computed_values():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    target = torch.tensor([0, 1, 1, 1])
    m = ProbabilityMetrics(2)
    m.update(probs, target)
    out = m.compute()
    assert math.isclose(out["acc"], 0.75, abs_tol=1e-6)
    nll = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.7)) / 4
    assert math.isclose(out["nll"], nll, rel_tol=1e-5)
    # ECE with 15 bins: confidences 0.9, 0.8, 0.6, 0.7 each alone in a bin: mean |acc - conf|
    ece = (abs(1 - 0.9) + abs(1 - 0.8) + abs(0 - 0.6) + abs(1 - 0.7)) / 4
    assert math.isclose(out["ece"], ece, rel_tol=1e-5)


def test_labels_map_by_name_and_unknown_names_are_refused():
    assert label_map(["a", "b"], ["a", "b"]) is None
    assert label_map(["c", "a"], ["a", "b", "c"]).tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"classes \['zebra'\] that the model does not know"):
        label_map(["a", "zebra"], ["a", "b"])


class Reordered(IndexedDataModule):
    @property
    def class_names(self):
        return ["c", "a", "b"]


def test_checkpoint_carries_class_names_and_testing_maps_labels_by_name(tmp_path):
    dm = IndexedDataModule(n=60, batch_size=20)
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, use_distributed_sampler=False)
    model = ClassifierModule(TinyNet, class_names=dm.class_names)
    trainer.fit(model, datamodule=dm)
    ckpt = tmp_path / "m.ckpt"
    trainer.save_checkpoint(ckpt)
    assert torch.load(ckpt, weights_only=False)["class_names"] == ["a", "b", "c"]

    other = Reordered(n=60)
    fresh = ClassifierModule(TinyNet, class_names=other.class_names)
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    result = trainer.test(fresh, datamodule=other, ckpt_path=ckpt, verbose=False, weights_only=False)[0]
    assert fresh.class_names == ["a", "b", "c"]
    same = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    baseline = same.test(ClassifierModule(TinyNet, class_names=dm.class_names), datamodule=IndexedDataModule(n=60),
                         ckpt_path=ckpt, verbose=False, weights_only=False)[0]
    # the reordered data names label 0 'c': mapped by name, the model's accuracy is unchanged
    assert result["test_acc"] == pytest.approx(baseline["test_acc"])
