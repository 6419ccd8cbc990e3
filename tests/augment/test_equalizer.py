"""The seven-band equalizer: against audiomentations ``SevenBandParametricEQ`` at the parameters it drew, and its
behaviour (what each band does to a tone, how the parameters are drawn, the settings it refuses)."""
import math
import random

import numpy as np
import pytest
import torch
from audiomentations import SevenBandParametricEQ

from blackmagic import augment
from blackmagic.augment import SpecError
from blackmagic.augment.ops.equalizer import BANDS_HZ, centre_hz

from .dali_runner import run_dali
from .test_voice_filters import RATE, clips, level_db, tones


def eq(**spec):
    return augment.build([{"equalizer": {"p": 1.0, **spec}}], seed=0, sample_rate=RATE)


def mels(f):
    return 2595 * np.log10(1 + f / 700)


def drawn_by(anchor):
    """audiomentations' drawn parameters in our layout: (1, 7) centres (where in each band's range, in mels) and
    gains, (1, 5) peak Q, (1, 2) shelf Q."""
    bands = [anchor.low_shelf_filter, *anchor.peaking_filters, anchor.high_shelf_filter]
    value = lambda key: np.array([[f.parameters[key] for f in bands]])  # noqa: E731
    q = value("q_factor")
    lo, hi = (mels(np.array(edge)) for edge in zip(*BANDS_HZ))
    where = (mels(value("center_freq")) - lo) / (hi - lo)
    drawn = {"center": where, "gain_db": value("gain_db"), "q": q[:, 1:6], "shelf_q": q[:, [0, 6]]}
    return {"active": torch.tensor([True]), **{k: torch.from_numpy(v) for k, v in drawn.items()}}


@pytest.mark.parametrize("seed", range(6))
def test_equalizer_equals_audiomentations_at_the_parameters_it_drew(seed, device):
    np.random.seed(seed)  # audiomentations draws from numpy's and Python's global generators
    random.seed(seed)
    x = clips(n=1, channels=2, seed=seed)
    anchor = SevenBandParametricEQ(p=1.0)
    anchor.randomize_parameters(x[0], RATE)
    op = eq().ops[0]
    params = {k: v.to(device) for k, v in drawn_by(anchor).items()}
    ours = op.apply(torch.from_numpy(x).to(device), params, None).cpu().numpy()
    np.testing.assert_allclose(ours[0], anchor.apply(x[0], RATE), rtol=1e-4, atol=2e-5)


def test_flat_gains_leave_the_clip_unchanged():
    x = clips(n=4)
    out = eq(gain_db=0)(torch.from_numpy(x))  # every band at 0 dB is the identity filter, whatever its centre and Q
    np.testing.assert_allclose(out.numpy(), x, atol=1e-6)


@pytest.mark.parametrize("band", range(1, 6))
@pytest.mark.parametrize("gain", [-9.0, 6.0])
def test_a_peak_changes_a_tone_at_its_centre_by_its_gain_and_leaves_far_tones(band, gain):
    centre = math.sqrt(BANDS_HZ[band][0] * BANDS_HZ[band][1])
    far = 40.0 if band >= 4 else 6000.0
    x = tones([centre, far], RATE)
    op = eq().ops[0]
    gains = torch.zeros(2, 7)
    gains[:, band] = gain
    where = (mels(centre) - mels(BANDS_HZ[band][0])) / (mels(BANDS_HZ[band][1]) - mels(BANDS_HZ[band][0]))
    params = {"active": torch.tensor([True, True]), "center": torch.full((2, 7), where), "gain_db": gains,
              "q": torch.full((2, 5), 2.0), "shelf_q": torch.full((2, 2), 0.7)}
    y = op.apply(torch.from_numpy(x), params, None).numpy()
    settled = slice(RATE // 4, None)  # past the filter's start
    change = level_db(y[..., settled], x[..., settled])[:, 0]
    assert change[0] == pytest.approx(gain, abs=0.1)
    assert abs(change[1]) < 0.5


def test_draws_each_band_its_own_gain_centre_and_q_within_its_range():
    pipe = eq(gain_db=[-6, 12], q=[1, 3])
    pipe(torch.from_numpy(clips(n=400, channels=1, length=64)))
    drawn = pipe.last_params["0.equalizer"]
    centres, gains = centre_hz(drawn["center"]).numpy(), drawn["gain_db"].numpy()
    assert centres.shape == gains.shape == (400, 7) and drawn["q"].shape == (400, 5)
    assert drawn["shelf_q"].shape == (400, 2)
    for k, (lo, hi) in enumerate(BANDS_HZ):
        assert lo - 1e-9 <= centres[:, k].min() and centres[:, k].max() <= hi + 1e-9
        where = (mels(centres[:, k]) - mels(lo)) / (mels(hi) - mels(lo))  # uniform in mels over the band's range
        assert abs(where.mean() - 0.5) < 0.05 and where.min() < 0.05 and where.max() > 0.95
    assert -6 <= gains.min() and gains.max() <= 12 and abs(np.corrcoef(gains[:, 2], gains[:, 3])[0, 1]) < 0.15
    assert 1 <= drawn["q"].min() and drawn["q"].max() <= 3


def test_a_fixed_center_puts_every_band_at_that_point_of_its_range():
    pipe = eq(center=0.0)
    pipe(torch.from_numpy(clips(n=3, channels=1, length=64)))
    centres = centre_hz(pipe.last_params["0.equalizer"]["center"])
    torch.testing.assert_close(centres, torch.tensor([[lo for lo, _ in BANDS_HZ]] * 3, dtype=torch.float64))


def test_a_high_shelf_above_the_nyquist_frequency_is_moved_below_it_and_stays_stable():
    pipe = augment.build([{"equalizer": {"center": 1.0, "gain_db": 12, "p": 1.0}}], seed=0, sample_rate=8000)
    y = pipe(torch.from_numpy(clips(n=2, length=8000)))
    assert torch.isfinite(y).all() and y.abs().max() < 20


@pytest.mark.parametrize("spec,words", [
    ({"shelf_q": [0.5, 1.5]}, ["shelf_q", "<= 1"]),
    ({"center": [-0.1, 0.5]}, ["center", ">= 0"]),
    ({"q": [0, 2]}, ["'q'", ">= 0.01"]),
    ({"bands": 3}, ["bands"]),
])
def test_equalizer_refuses_bad_settings_naming_the_key(spec, words):
    with pytest.raises(SpecError) as err:
        augment.build([{"equalizer": spec}], sample_rate=RATE)
    assert "op 'equalizer'" in str(err.value) and all(w in str(err.value) for w in words), str(err.value)


def test_equalizer_needs_the_sample_rate():
    with pytest.raises(SpecError, match="op 'equalizer'.*sample rate"):
        augment.build([{"equalizer": {}}])


def test_dali_equalizer_replays_its_random_draws():
    x = clips(n=5, channels=1)[:, 0]
    item = {"equalizer": {"p": 0.8}}
    out, params = run_dali([item], x)[0]
    drawn = {k: torch.from_numpy(v) for k, v in params["0.equalizer"].items()}
    assert drawn["gain_db"].shape == (5, 7)
    op = augment.build([item], sample_rate=RATE).ops[0]
    expected = op.apply(torch.from_numpy(x)[:, None], {**drawn, "active": drawn["active"].bool()}, None)
    np.testing.assert_array_equal(out, expected[:, 0].numpy())
