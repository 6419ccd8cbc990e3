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


def test_channels_last_gives_the_same_predictions_in_the_faster_layout():
    torch.manual_seed(0)
    plain = ClassifierModule(SmallImageNet, class_names=list("abcd")).eval()
    fast = ClassifierModule(SmallImageNet, class_names=list("abcd"), channels_last=True).eval()
    fast.load_state_dict(plain.state_dict())
    conv = next(m for m in fast.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(6, 1, 28, 28)
    torch.testing.assert_close(fast(x), plain(x), atol=1e-5, rtol=1e-4)


def test_test_time_flip_averages_the_input_and_its_mirror_image():
    torch.manual_seed(0)
    model = ClassifierModule(SmallImageNet, class_names=list("abc"), ensemble=2, test_time_flip=True).eval()
    x = torch.randn(5, 1, 28, 28)
    views = [m(v).softmax(-1) for m in model.members for v in (x, x.flip(-1))]
    torch.testing.assert_close(model(x), torch.stack(views).mean(0))
    torch.testing.assert_close(model(x), model(x.flip(-1)), atol=1e-6, rtol=0)  # mirror-symmetric by construction


def test_the_epoch_loss_mean_is_part_of_the_checkpointed_state():
    model = ClassifierModule(SmallImageNet, class_names=list("ab"))
    model.train_loss_mean.update(torch.tensor(2.0), 3)
    state = model.state_dict()
    assert {"train_loss_mean.mean_value", "train_loss_mean.weight"} <= set(state)
    other = ClassifierModule(SmallImageNet, class_names=list("ab"))
    other.load_state_dict(state)
    assert float(other.train_loss_mean.compute()) == 2.0


def test_an_ensemble_test_also_reports_its_first_member_alone(tmp_path):
    dm = IndexedDataModule(n=60, batch_size=20)
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, use_distributed_sampler=False)
    model = ClassifierModule(TinyNet, class_names=dm.class_names, ensemble=3)
    trainer.fit(model, datamodule=dm)
    result = trainer.test(model, datamodule=dm, verbose=False)[0]
    x, y = dm.splits["test"].x, dm.splits["test"].y
    model.eval()
    with torch.no_grad():
        x = dm.squeeze(x.float() / 255)
        alone = model.members[0](x).softmax(-1)
        together = model(x)
    assert result["test_member1_acc"] == pytest.approx((alone.argmax(-1) == y).float().mean().item())
    assert result["test_acc"] == pytest.approx((together.argmax(-1) == y).float().mean().item())
    assert not torch.allclose(alone, together)
