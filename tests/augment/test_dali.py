"""The DALI backend against the torch backend: same outputs for fixed parameters, same parameter
distributions for random ones, fresh draws per iteration, seeds reproduce (DALI's CPU backend, no GPU)."""
import numpy as np
import pytest
import torch
from scipy import stats

from blackmagic import augment
from blackmagic.augment import SpecError

from .cases import CASES
from .dali_runner import run_dali

RNG = np.random.default_rng(0)
IMAGES = RNG.random((4, 12, 16, 3)).astype(np.float32)  # (B, H, W, C)
T = np.arange(1600) / 16000
AUDIO = (0.4 * np.sin(2 * np.pi * RNG.uniform(200, 800, (4, 1)) * T) + RNG.normal(0, 0.05, (4, 1600))).astype(np.float32)

# op item(s) with fixed parameters -> tolerance of DALI against torch: each case's own line, and combinations
FIXED = {name: case.dali for name, case in CASES.items() if case.dali is not None}
FIXED["rotate+scale+flip"] = ([{"rotate": {"degrees": [-15, -15]}}, {"scale": {"factor": [0.8, 0.8]}},
                               {"flip": {"axis": "vertical", "p": 1.0}}], 1e-5)
FIXED["time_shift_back"] = ({"time_shift": {"shift": [-130, -130], "unit": "samples", "rollover": False}}, 0)
FIXED["time_shift_seconds"] = ({"time_shift": {"shift": [0.01, 0.01], "unit": "seconds", "rollover": False}}, 0)


def _domain(spec) -> str:
    return augment.OPS[next(iter(spec[0] if isinstance(spec, list) else spec))].domain


FIXED_IMAGE = {k: v for k, v in FIXED.items() if _domain(v[0]) == "image"}
FIXED_AUDIO = {k: v for k, v in FIXED.items() if _domain(v[0]) == "audio"}


def torch_images(spec, channels=3):
    x = torch.from_numpy(IMAGES[..., :channels]).permute(0, 3, 1, 2)
    return augment.build(spec if isinstance(spec, list) else [spec], seed=0)(x).permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("name", sorted(FIXED_IMAGE))
def test_fixed_parameters_match_the_torch_backend_on_images(name):
    spec, tol = FIXED_IMAGE[name]
    spec = spec if isinstance(spec, list) else [spec]
    out, _ = run_dali(spec, IMAGES)[0]
    np.testing.assert_allclose(out, torch_images(spec), rtol=0, atol=tol)


def test_greyscale_colour_shift_matches():
    spec = [{"color_shift": {"brightness": [0.9, 0.9], "contrast": [1.4, 1.4], "shift": [0.1, 0.1]}}]
    out, _ = run_dali(spec, IMAGES[..., :1], channels=1)[0]
    np.testing.assert_allclose(out, torch_images(spec, channels=1), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(FIXED_AUDIO))
def test_fixed_parameters_match_the_torch_backend_on_audio(name):
    spec, tol = FIXED_AUDIO[name]
    out, _ = run_dali([spec], AUDIO)[0]
    expected = augment.build([spec], seed=0, sample_rate=16_000)(torch.from_numpy(AUDIO)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=tol)


def test_noise_ops_have_the_right_statistics():
    flat = np.full((64, 16, 16, 3), 0.5, np.float32)
    out, params = run_dali([{"noise": {"std": [0.05, 0.05]}}], flat)[0]
    assert abs((out - flat).std() - 0.05) < 2e-3
    out, _ = run_dali([{"pixel_dropout": {"rate": [0.25, 0.25]}}], flat)[0]
    dropped = out == 0
    assert abs(dropped.mean() - 0.25) < 0.02 and np.array_equal(dropped.all(-1), dropped.any(-1))
    t = np.arange(16000) / 16000
    tone = np.tile((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), (16, 1))
    out, _ = run_dali([{"noise_snr": {"snr_db": [20, 20]}}], tone)[0]
    snr = 10 * np.log10((tone**2).mean(-1) / ((out - tone) ** 2).mean(-1))
    assert abs(snr.mean() - 20) < 0.1


@pytest.mark.parametrize("item,key", [({"rotate": {"degrees": 30, "p": 0.6}}, "degrees"),
                                      ({"noise": {"std": [0.0, 0.1], "p": 0.6}}, "std"),
                                      ({"color_shift": {"hue": 0.1, "p": 0.6}}, "hue"),
                                      ({"time_shift": {"shift": [-40, 40], "unit": "samples", "p": 0.6}}, "shift")])
def test_random_parameters_follow_the_torch_distribution(item, key):
    audio = "time_shift" in item
    batch = np.tile(AUDIO[:1], (128, 1)) if audio else np.tile(IMAGES[:1], (128, 1, 1, 1))
    runs = run_dali([item], batch, iterations=8)
    name = f"0.{next(iter(item))}"
    dali_values = np.concatenate([p[name][key] for _, p in runs])
    dali_active = np.concatenate([p[name]["active"] for _, p in runs])
    pipe = augment.build([item], seed=3, sample_rate=16_000)
    x = torch.from_numpy(np.concatenate([batch] * 8))
    pipe(x[:, None] if audio else x.permute(0, 3, 1, 2))
    torch_values = pipe.last_params[name][key].numpy()
    assert stats.ks_2samp(dali_values, torch_values).pvalue > 1e-3
    assert stats.binomtest(int(dali_active.sum()), len(dali_active), 0.6).pvalue > 1e-3


def test_fresh_draws_every_iteration_and_per_sample_and_seeds_reproduce():
    spec = [{"rotate": {"degrees": 30}}, {"noise": {"std": [0.01, 0.05]}}]
    batch = np.tile(IMAGES[:1], (4, 1, 1, 1))
    (a, _), (b, _) = run_dali(spec, batch, iterations=2)
    assert not np.array_equal(a, b) and not np.array_equal(a[0], a[1])
    (c, _), _ = run_dali(spec, batch, iterations=2)
    np.testing.assert_array_equal(a, c)
    (d, _), = run_dali(spec, batch, seed=11)
    assert not np.array_equal(a, d)


def test_combinators_gate_the_same_way():
    spec = [{"one_of": [{"rotate": {"degrees": 10}}, {"blur": {"sigma": 1.0}}, {"flip": {"p": 1.0}}]},
            {"some_of": {"ops": [{"noise": {"std": 0.01}}, {"translate": {"x": 1}}, {"scale": {}}], "n": 2}}]
    _, params = run_dali(spec, np.tile(IMAGES[:1], (64, 1, 1, 1)))[0]
    first = sum(params[k]["active"].astype(int) for k in ("0.rotate", "1.blur", "2.flip"))
    second = sum(params[k]["active"].astype(int) for k in ("3.noise", "4.translate", "5.scale"))
    assert (first == 1).all() and (second == 2).all()


@pytest.mark.parametrize("spec,words", [
    ([{"whiten": {"mode": "zca"}}], ["op 'whiten' with mode zca", "no DALI operator"]),
    ([{"background_noise": {}}], ["op 'background_noise'", "torch backend"]),
    ([{"time_mask": {}}], ["op 'time_mask'", "spectrograms"]),
    ([{"time_blur": {}}], ["op 'time_blur'", "spectrograms"]),
    ([{"time_shift": {"fade": 0.01}}], ["op 'time_shift' with a fade"]),
])
def test_ops_dali_cannot_express_fail_at_build_naming_the_op(spec, words):
    with pytest.raises(SpecError) as err:
        augment.build(spec, backend="dali", sample_rate=16_000)
    assert all(w in str(err.value) for w in words), str(err.value)
