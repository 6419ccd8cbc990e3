"""time_blur: each bin's Gaussian smear along time at the drawn sigma, what stays, and the settings it refuses."""
import pytest
import torch

from blackmagic import augment
from blackmagic.augment import SpecError


def blur(x, **spec):
    pipe = augment.build([{"time_blur": {"p": 1.0, **spec}}], seed=0)
    return pipe(x), pipe.last_params["0.time_blur"]


def test_an_impulse_becomes_the_gaussian_of_the_drawn_sigma_in_every_bin():
    x = torch.zeros(6, 2, 4, 41)
    x[..., 20] = 1.0
    y, drawn = blur(x, sigma=[0.5, 3.0])
    taps = torch.arange(41.0) - 20
    expected = torch.exp(-(taps**2) / (2 * drawn["sigma"][:, None] ** 2))
    expected = torch.where(taps.abs() <= 9, expected, 0.0)  # kernel 2 * ceil(3 * 3) + 1 = 19 frames
    expected = expected / expected.sum(1, keepdim=True)
    torch.testing.assert_close(y, expected[:, None, None, :].expand_as(y))
    assert drawn["sigma"].max() - drawn["sigma"].min() > 0.5, "sigma is drawn per sample"


def test_bins_are_not_mixed_and_a_steady_spectrum_stays():
    x = torch.linspace(-3, 3, 40).view(1, 1, 40, 1).expand(4, 1, 40, 101).contiguous()  # varies along F only
    y, _ = blur(x, sigma=[1.0, 2.0])
    torch.testing.assert_close(y, x)


def test_a_blur_keeps_each_bins_energy_away_from_the_borders():
    x = torch.zeros(3, 1, 5, 80)
    x[..., 30:36] = torch.rand(3, 1, 5, 6)
    y, _ = blur(x, sigma=[1.0, 2.0])
    torch.testing.assert_close(y.sum(-1), x.sum(-1))
    assert (y[..., 28] > 0).all() and not torch.equal(y, x)


def test_sigma_zero_or_inactive_samples_leave_the_input_exactly():
    x = torch.randn(8, 1, 6, 30)
    y, _ = blur(x, sigma=[0, 0])
    assert torch.equal(y, x)
    pipe = augment.build([{"time_blur": {"sigma": [1, 2], "p": 0.5}}], seed=1)
    y = pipe(x)
    active = pipe.last_params["0.time_blur"]["active"]
    assert 0 < active.sum() < 8 and torch.equal(y[~active], x[~active]) and not torch.equal(y[active], x[active])


@pytest.mark.parametrize("spec,words", [({"sigma": [-1, 2]}, ["sigma", ">= 0"]),
                                        ({"kernel_size": 4}, ["kernel_size", "odd"])])
def test_time_blur_refuses_bad_settings_naming_the_key(spec, words):
    with pytest.raises(SpecError) as err:
        augment.build([{"time_blur": spec}])
    assert "op 'time_blur'" in str(err.value) and all(w in str(err.value) for w in words), str(err.value)


def test_time_blur_refuses_a_waveform():
    with pytest.raises(ValueError, match="time_blur.*spectrograms"):
        augment.build([{"time_blur": {}}])(torch.randn(2, 1, 100))
