"""Batch ops (mixup, cutmix): parity with torchvision v2 at a fixed lambda, per-sample Beta draws, mixed targets,
their place in a spec, and how a datamodule hands their soft targets to the classifier."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torchvision.transforms import v2

from blackmagic import augment
from blackmagic.augment import SpecError

from ..helpers import IndexedDataModule

B, K = 16, 5


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, 3, 12, 10, generator=g)
    y = torch.randint(0, K, (B,), generator=g)
    return x, y, F.one_hot(y, K).float()


def fixed(pipe, x, t, **values):
    """Replay a call with some drawn values replaced (every sample active)."""
    pipe(x, targets=t)
    params = pipe.last_params
    key = next(k for k in params if k != "rng_state")
    params[key] = {**params[key], "active": torch.ones(B, dtype=torch.bool),
                   **{k: torch.full((B,), float(v)) for k, v in values.items()}}
    return pipe(x, params=params, targets=t)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.77, 1.0])
def test_mixup_matches_torchvision_at_a_fixed_lambda(lam):
    x, y, t = batch()
    ours_x, ours_t = fixed(augment.build([{"mixup": {"alpha": 0.5}}], seed=0), x, t, lam=lam)
    anchor = v2.MixUp(alpha=0.5, num_classes=K)
    ref_x, ref_t = anchor.transform(x, {"lam": lam, "labels": None, "batch_size": B}), None
    ref_t = anchor._mixup_label(y, lam=lam)
    torch.testing.assert_close(ours_x, ref_x, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours_t, ref_t, rtol=0, atol=1e-6)


@pytest.mark.parametrize("lam, cx, cy", [(0.5, 0.5, 0.5), (0.3, 0.05, 0.9), (0.9, 0.99, 0.0), (0.0, 0.4, 0.6)])
def test_cutmix_matches_torchvision_for_a_fixed_box(lam, cx, cy):
    x, y, t = batch(1)
    H, W = x.shape[-2:]
    ours_x, ours_t = fixed(augment.build([{"cutmix": {}}], seed=0), x, t, lam=lam, cx=cx, cy=cy)
    r_x, r_y = int(cx * W), int(cy * H)  # what torchvision's randint(W), randint(H) gave
    r = 0.5 * np.sqrt(1 - lam)
    x1, y1 = max(r_x - int(r * W), 0), max(r_y - int(r * H), 0)
    x2, y2 = min(r_x + int(r * W), W), min(r_y + int(r * H), H)
    kept = 1 - (x2 - x1) * (y2 - y1) / (W * H)
    anchor = v2.CutMix(num_classes=K)
    params = {"box": (x1, y1, x2, y2), "lam_adjusted": kept, "labels": None, "batch_size": B}
    torch.testing.assert_close(ours_x, anchor.transform(x, params), rtol=0, atol=0)
    torch.testing.assert_close(ours_t, anchor._mixup_label(y, lam=kept), rtol=0, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_lambda_is_beta_distributed_per_sample(alpha):
    pipe = augment.build([{"mixup": {"alpha": alpha}}], seed=3)
    x = torch.rand(4000, 1, 2, 2)
    pipe(x, targets=torch.zeros(4000, 2))
    lam = pipe.last_params["0.mixup"]["lam"].numpy()
    assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).pvalue > 1e-3
    assert np.unique(lam).size > 1000, "every sample draws its own lambda"  # (float32 rounds many to 0 or 1)


def test_targets_stay_distributions_and_inactive_samples_are_untouched():
    x, y, t = batch(2)
    pipe = augment.build([{"one_of": {"ops": [{"mixup": {"alpha": 1.0}}, {"cutmix": {"alpha": 1.0}}], "p": 0.5}}], seed=4)
    out, soft = pipe(x, targets=t)
    torch.testing.assert_close(soft.sum(1), torch.ones(B))
    assert ((soft > 0).sum(1) <= 2).all(), "a sample mixes with one partner only"
    params = pipe.last_params
    idle = ~(params["0.mixup"]["active"] | params["1.cutmix"]["active"])
    assert idle.any() and (~idle).any()
    assert torch.equal(out[idle], x[idle]) and torch.equal(soft[idle], t[idle])


def test_batch_ops_need_targets_and_come_last():
    x, _, t = batch()
    with pytest.raises(ValueError, match="op 'mixup' mixes labels too"):
        augment.build([{"mixup": {}}])(x)
    with pytest.raises(ValueError, match="targets must be"):
        augment.build([{"mixup": {}}])(x, targets=torch.zeros(B, dtype=torch.long))
    with pytest.raises(SpecError, match="op 'cutmix' mixes whole batches.*'rotate'"):
        augment.build([{"cutmix": {}}, {"rotate": {"degrees": 5}}])
    with pytest.raises(SpecError, match="op 'cutmix'.*DALI"):
        augment.build([{"cutmix": {}}], backend="dali")
    plain, same = augment.build([{"rotate": {"degrees": 5}}], seed=0)(x, targets=t)
    assert torch.equal(same, t), "without batch ops the targets come back as they were"


def test_datamodule_trains_on_soft_targets_and_refuses_them_in_test_shifts():
    dm = IndexedDataModule(n=40, batch_size=20, augment=[{"mixup": {"alpha": 1.0}}])
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    from types import SimpleNamespace
    dm.trainer = SimpleNamespace(training=True, testing=False, current_epoch=0, global_rank=0, world_size=1)
    out, soft = dm.on_after_batch_transfer((x, y), 0)
    assert soft.shape == (20, 3) and soft.dtype == torch.float32
    torch.testing.assert_close(soft.sum(1), torch.ones(20))
    with pytest.raises(SpecError, match="test_shifts.m.*mixes labels"):
        IndexedDataModule(test_shifts={"m": [{"mixup": {}}]})
