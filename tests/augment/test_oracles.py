"""Fixed parameters (range [v, v], p=1) against the anchors the spec language promises to match."""
import numpy as np
import pytest
import torch
from audiomentations import ClippingDistortion, Gain, Shift, TanhDistortion
from kornia.enhance import ZCAWhitening
from kornia.filters import gaussian_blur2d
from kornia.geometry.transform import rotate as kornia_rotate

from blackmagic import augment
from blackmagic.augment.shifts import _block_copies, _gather
from blackmagic.augment.waveshaping import _tanh_distortion_numpy, _tanh_distortion_torch

RATE = 16_000


def clips(n=3, channels=1, length=1600, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / RATE
    tone = np.sin(2 * np.pi * rng.uniform(100, 900, (n, channels, 1)) * t)
    return (0.4 * tone + rng.normal(0, 0.05, (n, channels, length))).astype(np.float32)


def run(spec, x, device, **kw):
    return augment.build(spec, seed=0, sample_rate=RATE, **kw)(torch.from_numpy(x).to(device)).cpu().numpy()


@pytest.mark.parametrize("unit,shift", [("fraction", 0.25), ("fraction", -0.1), ("samples", 37), ("samples", -250),
                                        ("seconds", 0.01), ("seconds", -0.02)])
@pytest.mark.parametrize("rollover", [True, False])
@pytest.mark.parametrize("fade", [0.0, 0.002])
def test_time_shift_equals_audiomentations_shift(unit, shift, rollover, fade, device):
    x = clips(channels=2)
    ours = run([{"time_shift": {"shift": [shift, shift], "unit": unit, "rollover": rollover, "fade": fade}}], x, device)
    anchor = Shift(min_shift=shift, max_shift=shift, shift_unit=unit, rollover=rollover, fade_duration=fade, p=1.0)
    for i in range(len(x)):
        expected = anchor(x[i], sample_rate=RATE)
        if fade:
            np.testing.assert_allclose(ours[i], expected, rtol=0, atol=1e-6)
        else:
            np.testing.assert_array_equal(ours[i], expected)


@pytest.mark.parametrize("rollover", [True, False])
def test_time_shift_cpu_copies_equal_the_device_gather(rollover):
    """The CPU kernel (block copies per clip) and the accelerator kernel (one gather) give the same clips, for
    shifts in both directions, of a whole clip and beyond it."""
    x = torch.from_numpy(clips(n=9, channels=2, length=50))
    n = torch.tensor([0, 1, -1, 17, -33, 49, -50, 50, 120])
    copies = (n.remainder(50) if rollover else n.clamp(-50, 50)).tolist()
    cpu = _block_copies(x, copies, rollover, None)
    np.testing.assert_array_equal(cpu.numpy(), _gather(x, n, rollover).numpy())
    assert torch.equal(cpu[3, :, 17:], x[3, :, :-17])


@pytest.mark.parametrize("amount", [0.01, 0.3, 0.7, 1.0])
def test_tanh_distortion_matches_audiomentations(amount, device):
    x = clips(channels=2)
    ours = run([{"distortion": {"mode": "tanh", "amount": [amount, amount]}}], x, device)
    # the accelerator path (whole-batch torch ops) as well, wherever the tests run
    t = torch.from_numpy(x)
    other = _tanh_distortion_torch(t, torch.full((len(x),), amount), torch.ones(len(x), dtype=torch.bool)).numpy()
    anchor = TanhDistortion(min_distortion=amount, max_distortion=amount, p=1.0)
    for i in range(len(x)):
        expected = anchor(x[i], sample_rate=RATE)
        np.testing.assert_allclose(ours[i], expected, rtol=0, atol=1e-5)
        np.testing.assert_allclose(other[i], expected, rtol=0, atol=1e-5)


def test_tanh_distortion_on_cpu_leaves_inactive_clips_exactly():
    x = clips(n=7, channels=2)
    amount = np.linspace(0.05, 0.9, 7)
    active = np.array([1, 0, 1, 1, 0, 0, 1], bool)
    out = _tanh_distortion_numpy(x.copy(), amount, active)
    np.testing.assert_array_equal(out[~active], x[~active])
    for i in np.flatnonzero(active):
        anchor = TanhDistortion(min_distortion=amount[i], max_distortion=amount[i], p=1.0)
        np.testing.assert_allclose(out[i], anchor(x[i], sample_rate=RATE), rtol=0, atol=1e-5)


@pytest.mark.parametrize("percent", [0, 10, 25, 40, 73])
def test_clip_distortion_matches_audiomentations(percent, device):
    x = clips(channels=2)
    a = percent / 100
    ours = run([{"distortion": {"mode": "clip", "amount": [a, a]}}], x, device)
    anchor = ClippingDistortion(min_percentile_threshold=percent, max_percentile_threshold=percent, p=1.0)
    for i in range(len(x)):
        np.testing.assert_allclose(ours[i], anchor(x[i], sample_rate=RATE), rtol=0, atol=1e-5)


def test_gain_matches_audiomentations(device):
    x = clips()
    ours = run([{"gain": {"db": [-7.5, -7.5]}}], x, device)
    anchor = Gain(min_gain_db=-7.5, max_gain_db=-7.5, p=1.0)
    for i in range(len(x)):
        np.testing.assert_allclose(ours[i], anchor(x[i], sample_rate=RATE), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", [(4, 3, 24, 24), (2, 1, 17, 30)])
@pytest.mark.parametrize("degrees", [-33.0, 10.0, 90.0])
def test_rotate_matches_kornia(shape, degrees, device):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1)).to(device)
    ours = augment.build([{"rotate": {"degrees": [degrees, degrees]}}], seed=0)(x)
    expected = kornia_rotate(x, torch.full((shape[0],), degrees, device=device))
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("sigma,kernel_size", [(0.8, None), (2.0, None), (1.3, 7), (0.6, 3)])
@pytest.mark.parametrize("size", [(20, 24), (30, 70)])  # small images take the matmul path, wide ones the conv
def test_blur_matches_kornia(sigma, kernel_size, size, device):
    x = torch.rand(3, 3, *size, generator=torch.Generator().manual_seed(2)).to(device)
    spec = {"sigma": [sigma, sigma]} | ({"kernel_size": kernel_size} if kernel_size else {})
    pipe = augment.build([{"blur": spec}], seed=0)
    k = pipe.ops[0].cfg["kernel_size"]
    expected = gaussian_blur2d(x, (k, k), (sigma, sigma), border_type="reflect")
    torch.testing.assert_close(pipe(x), expected, rtol=0, atol=1e-4)


def test_zca_whitening_matches_kornia(device):
    g = torch.Generator().manual_seed(3)
    train = torch.rand(300, 3, 3, 3, generator=g) * torch.linspace(0.2, 1, 9).view(1, 1, 3, 3)
    x = torch.rand(5, 3, 3, 3, generator=g)
    pipe = augment.build([{"whiten": {"mode": "zca", "strength": 1.0}}], seed=0).fit(train.to(device))
    expected = ZCAWhitening().fit(train.double())(x.double()).float()
    torch.testing.assert_close(pipe(x.to(device)).cpu(), expected, rtol=0, atol=1e-4)


def test_zca_strength_blends_original_and_whitened():
    train = torch.rand(200, 1, 3, 3, generator=torch.Generator().manual_seed(4))
    x = train[:4]
    full = augment.build([{"whiten": {"strength": 1.0}}], seed=0).fit(train)(x)
    half = augment.build([{"whiten": {"strength": 0.5}}], seed=0).fit(train)(x)
    torch.testing.assert_close(half, 0.5 * x + 0.5 * full, rtol=0, atol=1e-5)


def test_standardize_gives_zero_mean_unit_variance():
    x = torch.rand(4, 3, 8, 8) * 0.3 + 0.2
    y = augment.build([{"whiten": {"mode": "standardize"}}], seed=0)(x)
    torch.testing.assert_close(y.mean((1, 2, 3)), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std((1, 2, 3), correction=0), torch.ones(4), atol=1e-4, rtol=0)


def test_unfitted_zca_says_what_to_do():
    with pytest.raises(RuntimeError, match="fit"):
        augment.build([{"whiten": {"mode": "zca"}}])(torch.rand(2, 1, 4, 4))
