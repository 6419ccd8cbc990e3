"""Drawn parameters follow their ranges, gates fire at the stated rate, combinators choose as documented."""
import pytest
import torch
from scipy import stats

from blackmagic import augment

N = 4000


def draw(spec, shape=(N, 1, 4, 4), seed=0):
    pipe = augment.build(spec, seed=seed, sample_rate=16_000)
    pipe(torch.rand(shape))
    return pipe.last_params


@pytest.mark.parametrize("item,key,lo,hi", [
    ({"noise": {"std": [0.02, 0.2]}}, "std", 0.02, 0.2),
    ({"rotate": {"degrees": 25}}, "degrees", -25, 25),
    ({"color_shift": {"brightness": 0.4}}, "brightness", 0.6, 1.4),
    ({"blur": {"sigma": [0.3, 1.1], "kernel_size": 3}}, "sigma", 0.3, 1.1),
    ({"pixel_dropout": {"rate": [0.1, 0.5]}}, "rate", 0.1, 0.5),
])
def test_drawn_parameters_are_uniform_on_their_range(item, key, lo, hi):
    values = next(iter(draw([item]).values()))[key].numpy()
    assert values.min() >= lo and values.max() <= hi
    assert stats.kstest(values, stats.uniform(loc=lo, scale=hi - lo).cdf).pvalue > 1e-3


def test_whole_number_ranges_are_uniform_over_their_values():
    p = draw([{"time_shift": {"shift": [-3, 3], "unit": "samples"}}], shape=(N, 1, 50))["0.time_shift"]["shift"]
    counts = torch.bincount((p + 3).long(), minlength=7).numpy()
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_gate_fires_at_rate_p(p):
    active = draw([{"noise": {"std": 0.1, "p": p}}])["0.noise"]["active"]
    assert stats.binomtest(int(active.sum()), N, p).pvalue > 1e-3


def test_inactive_samples_are_exactly_unchanged_and_active_ones_change():
    pipe = augment.build([{"rotate": {"degrees": [20, 40], "p": 0.5}}, {"noise": {"std": 0.1, "p": 0.5}}], seed=1)
    x = torch.rand(200, 3, 8, 8)
    y = pipe(x)
    touched = pipe.last_params["0.rotate"]["active"] | pipe.last_params["1.noise"]["active"]
    same = (y == x).flatten(1).all(1)
    assert torch.equal(same, ~touched)


def test_one_of_applies_exactly_one_child_with_its_weights():
    params = draw([{"one_of": {"ops": [{"noise": {"std": 0.1}}, {"rotate": {"degrees": 5}}, {"flip": {"p": 1.0}}],
                               "weights": [1, 2, 1]}}])
    chosen = torch.stack([params[k]["active"] for k in ("0.noise", "1.rotate", "2.flip")], 1)
    assert torch.equal(chosen.sum(1), torch.ones(N, dtype=torch.long))
    freq = chosen.float().mean(0)
    assert stats.chisquare(chosen.sum(0).numpy(), [N / 4, N / 2, N / 4]).pvalue > 1e-3, freq


def test_one_of_p_gates_the_whole_group():
    params = draw([{"one_of": {"ops": [{"noise": {}}, {"rotate": {}}], "p": 0.3}}])
    any_on = params["0.noise"]["active"] | params["1.rotate"]["active"]
    assert stats.binomtest(int(any_on.sum()), N, 0.3).pvalue > 1e-3


def test_some_of_applies_n_distinct_children():
    ops = [{"noise": {}}, {"rotate": {}}, {"blur": {"sigma": 0.5, "kernel_size": 3}}, {"pixel_dropout": {}}]
    params = draw([{"some_of": {"ops": ops, "n": [1, 3]}}])
    chosen = torch.stack([params[k]["active"] for k in ("0.noise", "1.rotate", "2.blur", "3.pixel_dropout")], 1)
    n = chosen.sum(1)
    assert n.min() == 1 and n.max() == 3
    assert stats.chisquare(torch.bincount(n, minlength=4)[1:].numpy()).pvalue > 1e-3
    assert stats.chisquare(chosen.sum(0).numpy()).pvalue > 1e-3  # every child equally likely


def test_two_pipelines_without_seed_follow_torch_manual_seed():
    torch.manual_seed(5)
    a = augment.build([{"noise": {"std": 0.1}}])
    torch.manual_seed(5)
    b = augment.build([{"noise": {"std": 0.1}}])
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(a(x), b(x))


def test_noise_std_and_pixel_dropout_rate_show_in_the_output():
    x = torch.full((N, 1, 16, 16), 0.5)
    pipe = augment.build([{"noise": {"std": [0.05, 0.05]}}], seed=0)
    assert abs(float((pipe(x) - x).std()) - 0.05) < 1e-3
    pipe = augment.build([{"pixel_dropout": {"rate": [0.2, 0.2]}}], seed=0)
    assert abs(float((pipe(x) == 0).float().mean()) - 0.2) < 5e-3
    y = augment.build([{"pixel_dropout": {"rate": 0.5}}], seed=0)(torch.rand(8, 3, 16, 16) * 0.9 + 0.1)
    zero = y == 0
    assert torch.equal(zero.all(1), zero.any(1)), "a dropped pixel loses all its channels"


def test_noise_snr_sets_the_ratio():
    t = torch.arange(16000) / 16000
    x = (0.3 * torch.sin(2 * torch.pi * 440 * t)).expand(64, 1, -1).contiguous()
    y = augment.build([{"noise_snr": {"snr_db": [20, 20]}}], seed=0)(x)
    snr = 10 * torch.log10(x.pow(2).mean(-1) / (y - x).pow(2).mean(-1))
    assert abs(float(snr.mean()) - 20) < 0.1


def test_spec_masks_cover_their_drawn_width():
    pipe = augment.build([{"time_mask": {"width": [4, 4]}}], seed=0)
    y = pipe(torch.rand(50, 1, 10, 40) + 1)
    masked_frames = (y == 0).all(2)[:, 0]  # (B, T)
    assert torch.equal(masked_frames.sum(1), torch.full((50,), 4))
    y = augment.build([{"freq_mask": {"width": [2, 2], "value": -1.0}}], seed=0)(torch.rand(50, 1, 10, 40))
    assert torch.equal((y == -1).all(3)[:, 0].sum(1), torch.full((50,), 2))


def test_background_noise_mixes_recordings_at_the_snr():
    t = torch.arange(16000) / 16000
    x = (0.3 * torch.sin(2 * torch.pi * 440 * t)).expand(32, 1, -1).contiguous()
    hum = 0.05 * torch.sin(2 * torch.pi * 50 * torch.arange(48000) / 16000)
    pipe = augment.build([{"background_noise": {"snr_db": [10, 10]}}], seed=0).set_noise([hum[:20000], hum[20000:]])
    y = pipe(x)
    snr = 10 * torch.log10(x.pow(2).mean(-1) / (y - x).pow(2).mean(-1))
    torch.testing.assert_close(snr, torch.full_like(snr, 10.0), atol=0.05, rtol=0)
    with pytest.raises(RuntimeError, match="set_noise"):
        augment.build([{"background_noise": {}}])(x)
