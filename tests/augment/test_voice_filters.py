"""Voice ops that simulate a recording chain (band_limit, telephone, colored_noise, polarity): against
audiomentations, torchaudio and scipy at fixed parameters, and their behaviour where no anchor exists."""
import numpy as np
import pytest
import scipy.signal
import torch
import torchaudio.functional as AF
from audiomentations import BandPassFilter, HighPassFilter, LowPassFilter, PolarityInversion
from scipy import stats

from blackmagic import augment
from blackmagic.augment import SpecError
from blackmagic.augment.ops.telephone import mu_law_round_trip

from .dali_runner import run_dali

RATE = 16_000


def clips(n=3, channels=2, length=1600, seed=0, offset=0.2):
    """Tones plus noise, off-centre (the causal filters start in the steady state of the first sample)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / RATE
    tone = np.sin(2 * np.pi * rng.uniform(100, 900, (n, channels, 1)) * t)
    return (0.4 * tone + rng.normal(0, 0.05, (n, channels, length)) + offset).astype(np.float32)


def run(spec, x, device, seed=0, rate=RATE):
    pipe = augment.build(spec, seed=seed, sample_rate=rate)
    return pipe(torch.from_numpy(x).to(device)).cpu().numpy(), pipe


def tones(freqs, rate, length=None, amplitude=0.5):
    t = np.arange(length or rate) / rate
    return (amplitude * np.sin(2 * np.pi * np.asarray(freqs, float)[:, None, None] * t)).astype(np.float32)


def level_db(y, x):
    return 10 * np.log10((y.astype(np.float64) ** 2).mean(-1) / (x.astype(np.float64) ** 2).mean(-1))


# ---- band_limit ------------------------------------------------------------------------------------------------

def one_sided(mode, cutoff, rolloff, zero_phase):
    anchor = {"lowpass": LowPassFilter, "highpass": HighPassFilter}[mode]
    return anchor(min_cutoff_freq=cutoff, max_cutoff_freq=cutoff, min_rolloff=rolloff, max_rolloff=rolloff,
                  zero_phase=zero_phase, p=1.0)


def band(center, bandwidth, rolloff, zero_phase):
    return BandPassFilter(min_center_freq=center, max_center_freq=center, min_bandwidth_fraction=bandwidth,
                          max_bandwidth_fraction=bandwidth, min_rolloff=rolloff, max_rolloff=rolloff,
                          zero_phase=zero_phase, p=1.0)


@pytest.mark.parametrize("zero_phase", [False, True])
@pytest.mark.parametrize("mode,cutoff", [("lowpass", 150), ("lowpass", 3000), ("lowpass", 7500),
                                         ("highpass", 20), ("highpass", 800), ("highpass", 2400)])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_one_sided_band_limit_equals_audiomentations(mode, cutoff, order, zero_phase, device):
    rolloff = order * (12 if zero_phase else 6)
    x = clips()
    ours, _ = run([{"band_limit": {"mode": mode, "cutoff_hz": cutoff, "rolloff_db": rolloff,
                                   "zero_phase": zero_phase}}], x, device)
    anchor = one_sided(mode, cutoff, rolloff, zero_phase)
    for i in range(len(x)):  # measured: at most 6e-8 (float32 rounding of float64 filters on both sides)
        np.testing.assert_allclose(ours[i], anchor(x[i], sample_rate=RATE), rtol=0, atol=1e-6)


@pytest.mark.parametrize("zero_phase", [False, True])
@pytest.mark.parametrize("center,bandwidth", [(1000, 0.5), (200, 1.9), (3000, 1.0), (60, 0.3)])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_band_pass_equals_audiomentations(center, bandwidth, order, zero_phase, device):
    rolloff = order * (12 if zero_phase else 6)  # bandwidth 1.9 at an odd order gives a section of two real poles
    x = clips()
    ours, _ = run([{"band_limit": {"mode": "bandpass", "center_hz": center, "bandwidth": bandwidth,
                                   "rolloff_db": rolloff, "zero_phase": zero_phase}}], x, device)
    anchor = band(center, bandwidth, rolloff, zero_phase)
    for i in range(len(x)):
        np.testing.assert_allclose(ours[i], anchor(x[i], sample_rate=RATE), rtol=0, atol=1e-6)


@pytest.mark.parametrize("zero_phase", [False, True])
@pytest.mark.parametrize("mode", ["lowpass", "highpass", "bandpass"])
def test_per_sample_cutoffs_and_orders_in_one_batch_equal_audiomentations_clip_by_clip(mode, zero_phase, device):
    """Every sample gets its own cutoff and order (lower orders padded with identity sections, zero-phase edges
    of their own length); each equals audiomentations run with that sample's drawn parameters."""
    x = clips(n=24, length=1200)
    spec = {"mode": mode, "rolloff_db": [12, 48] if zero_phase else [6, 42], "zero_phase": zero_phase, "p": 0.8}
    ours, pipe = run([{"band_limit": spec}], x, device, seed=1)
    drawn = {k: v.cpu().numpy() for k, v in pipe.last_params["0.band_limit"].items()}
    assert len(set(drawn["rolloff_db"][drawn["active"]])) >= 3
    for i in range(len(x)):
        if not drawn["active"][i]:
            np.testing.assert_array_equal(ours[i], x[i])
            continue
        rolloff = int(drawn["rolloff_db"][i])
        if mode == "bandpass":
            anchor = band(float(drawn["center_hz"][i]), float(drawn["bandwidth"][i]), rolloff, zero_phase)
        else:
            anchor = one_sided(mode, float(drawn["cutoff_hz"][i]), rolloff, zero_phase)
        np.testing.assert_allclose(ours[i], anchor(x[i], sample_rate=RATE), rtol=0, atol=1e-6)


def test_band_limit_draws_cutoffs_on_the_mel_scale_and_whole_roll_offs():
    pipe = augment.build([{"band_limit": {"cutoff_hz": [150, 7500], "rolloff_db": [12, 30]}}], seed=0,
                         sample_rate=RATE)
    pipe(torch.zeros(4000, 1, 64))
    drawn = pipe.last_params["0.band_limit"]
    mel = lambda f: 2595 * np.log10(1 + np.asarray(f, float) / 700)  # noqa: E731  audiomentations' formula
    lo, hi = mel(150), mel(7500)
    assert stats.kstest((mel(drawn["cutoff_hz"].numpy()) - lo) / (hi - lo), "uniform").pvalue > 1e-3
    counts = np.unique(drawn["rolloff_db"].numpy(), return_counts=True)
    assert list(counts[0]) == [12, 18, 24, 30]
    assert stats.chisquare(counts[1]).pvalue > 1e-3


def test_band_limit_removes_what_it_should():
    x = tones([100, 1000, 6000], RATE)
    y, _ = run([{"band_limit": {"mode": "lowpass", "cutoff_hz": 2000, "rolloff_db": 24}}], x, "cpu")
    db = level_db(y, x)[:, 0]
    assert abs(db[0]) < 0.1 and abs(db[1]) < 0.1 and db[2] < -35


@pytest.mark.parametrize("spec,words", [
    ({"cutoff_hz": [100, 9000]}, ["'cutoff_hz'", "Nyquist", "8000"]),
    ({"mode": "highpass", "cutoff_hz": [0, 100]}, ["'cutoff_hz'", "(0, 8000)"]),
    ({"mode": "bandpass", "center_hz": [1000, 6000], "bandwidth": 1.0}, ["'center_hz'", "9000 Hz", "Nyquist"]),
    ({"mode": "bandpass", "bandwidth": [0.5, 2.0]}, ["'bandwidth'", "(0, 2)"]),
    ({"rolloff_db": [12, 20]}, ["'rolloff_db'", "multiples of 6"]),
    ({"rolloff_db": 18, "zero_phase": True}, ["'rolloff_db'", "zero-phase", "multiples of 12"]),
    ({"mode": "bandpass", "cutoff_hz": 100}, ["'cutoff_hz'", "center_hz and bandwidth"]),
    ({"mode": "lowpass", "center_hz": 100}, ["'center_hz'", "takes cutoff_hz"]),
])
def test_band_limit_refuses_bad_settings_at_build_naming_the_key(spec, words):
    with pytest.raises(SpecError) as err:
        augment.build([{"band_limit": spec}], sample_rate=RATE)
    assert "op 'band_limit'" in str(err.value) and all(w in str(err.value) for w in words), str(err.value)


def test_band_limit_needs_the_sample_rate_and_long_enough_clips_for_zero_phase():
    with pytest.raises(SpecError, match="sample_rate"):
        augment.build([{"band_limit": {}}])
    pipe = augment.build([{"band_limit": {"rolloff_db": 48, "zero_phase": True}}], sample_rate=RATE)
    with pytest.raises(ValueError, match="band_limit.*longer than 15 samples"):
        pipe(torch.zeros(2, 1, 15))


# ---- telephone -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [16_000, 44_100, 8_000])
def test_telephone_keeps_the_band_and_removes_what_lies_outside(rate, device):
    freqs = [100, 1000, 2000] + ([6000] if rate > 12_000 else [])
    x = tones(freqs, rate)
    y, _ = run([{"telephone": {}}], x, device, rate=rate)
    db = dict(zip(freqs, level_db(y, x)[:, 0]))  # measured at 16 kHz: 100 Hz -38.5 dB, 6 kHz -50 dB
    assert db[100] < -30 and db.get(6000, -99) < -40
    assert abs(db[1000]) < 0.5 and abs(db[2000]) < 0.5


@pytest.mark.parametrize("rate,length", [(16_000, 1601), (44_100, 801), (22_050, 1000), (8_000, 333)])
def test_telephone_output_has_the_input_length(rate, length):
    x = tones([1000], rate, length)
    y, _ = run([{"telephone": {}}], x, "cpu", rate=rate)
    assert y.shape == x.shape


def test_mu_law_round_trip_equals_torchaudio_at_256_levels(device):
    noise = torch.rand(100_000, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x = torch.cat([torch.linspace(-1, 1, 200_001), noise, torch.tensor([-1.0, -0.0, 0.0, 1.0])]).to(device)
    expected = AF.mu_law_decoding(AF.mu_law_encoding(x, 256), 256)
    assert torch.equal(mu_law_round_trip(x), expected)
    loud = torch.tensor([-5.0, -1.0, 1.0, 5.0], device=device)  # full scale clips, as in a codec
    assert torch.equal(mu_law_round_trip(loud), AF.mu_law_decoding(AF.mu_law_encoding(loud.clamp(-1, 1), 256), 256))


def test_telephone_at_8_khz_outputs_mu_law_levels_and_its_gain_sets_the_level():
    levels = AF.mu_law_decoding(torch.arange(256), 256).numpy()
    x = tones([440, 1000], 8000, 4000, amplitude=0.3)
    y, _ = run([{"telephone": {}}], x, "cpu", rate=8000)
    assert np.isin(y, levels).all()  # no resampling at 8 kHz: the codec's output comes out as it is
    y0, _ = run([{"telephone": {}}], x, "cpu")
    y6, _ = run([{"telephone": {"gain_db": [6, 6]}}], x, "cpu")
    np.testing.assert_allclose(level_db(y6, y0), 6.0, atol=0.1)
    loud, _ = run([{"telephone": {"gain_db": [20, 20]}}], x, "cpu", rate=8000)
    assert np.abs(loud).max() == 1.0  # the codec clips at full scale


@pytest.mark.parametrize("spec,rate,words", [
    ({}, 4000, ["8000 Hz", "4000 Hz"]),
    ({"high_hz": 4000}, RATE, ["'high_hz'", "below 4000 Hz"]),
    ({"low_hz": [300, 3500]}, RATE, ["'low_hz'", "below its upper edge"]),
    ({"low_hz": 0}, RATE, ["'low_hz'", "> 0"]),
])
def test_telephone_refuses_bad_settings_at_build(spec, rate, words):
    with pytest.raises(SpecError) as err:
        augment.build([{"telephone": spec}], sample_rate=rate)
    assert "op 'telephone'" in str(err.value) and all(w in str(err.value) for w in words), str(err.value)


# ---- colored_noise ---------------------------------------------------------------------------------------------

def test_colored_noise_sets_the_drawn_snr(device):
    x = clips(n=16, length=4000, offset=0.0)
    y, pipe = run([{"colored_noise": {"snr_db": [0, 30], "p": 0.75}}], x, device)
    drawn = {k: v.cpu().numpy() for k, v in pipe.last_params["0.colored_noise"].items()}
    rms = lambda v: np.sqrt((v.astype(np.float64) ** 2).mean(-1)).mean(-1)  # noqa: E731  per channel, averaged
    active = drawn["active"]
    snr = 20 * np.log10(rms(x[active]) / rms(y[active] - x[active]))
    np.testing.assert_allclose(snr, drawn["snr_db"][active], rtol=0, atol=1e-3)  # measured: 1e-5 dB
    np.testing.assert_array_equal(y[~active], x[~active])


@pytest.mark.parametrize("spec,beta", [({"color": "white"}, 0.0), ({"color": "pink"}, 1.0), ({"color": "brown"}, 2.0),
                                       ({"color": "blue"}, -1.0), ({"color": "violet"}, -2.0),
                                       ({"f_decay": [0.5, 0.5]}, 0.5)])
def test_colored_noise_spectrum_falls_as_one_over_f_to_the_beta(spec, beta, device):
    """Welch PSD of the added noise, fitted as log PSD against log f over 50 Hz - 7 kHz: the slope is -beta
    (measured within 0.005)."""
    t = np.arange(1 << 15) / RATE
    x = np.tile(0.1 * np.sin(2 * np.pi * 440 * t), (4, 2, 1)).astype(np.float32)
    y, pipe = run([{"colored_noise": {"snr_db": 0, **spec}}], x, device)
    np.testing.assert_array_equal(pipe.last_params["0.colored_noise"]["f_decay"].cpu().numpy(), beta)
    f, psd = scipy.signal.welch(y.astype(np.float64) - x, fs=RATE, nperseg=2048, axis=-1)
    keep = (f >= 50) & (f <= 7000)
    slope = np.polyfit(np.log(f[keep]), np.log(psd.mean((0, 1))[keep]), 1)[0]
    assert abs(slope + beta) < 0.05, slope


def test_colored_noise_is_flat_below_20_hz():
    """Below 20 Hz (inaudible) the spectrum stops rising, so brown noise's SNR is not spent on rumble."""
    x = np.full((4, 1, 1 << 17), 0.1, np.float32)
    y, _ = run([{"colored_noise": {"snr_db": 0, "color": "brown"}}], x, "cpu")
    f, psd = scipy.signal.welch(y.astype(np.float64) - x, fs=RATE, nperseg=1 << 14, axis=-1)
    psd = psd.mean((0, 1))
    low = psd[(f >= 3) & (f <= 17)]
    assert low.max() / low.min() < 2  # flat within Welch's scatter; a 1 / f^2 rise would be 32x
    assert 3 < psd[np.argmin(abs(f - 20))] / psd[np.argmin(abs(f - 40))] < 5  # 1 / f^2 above


def test_colored_noise_differs_between_channels_and_has_no_dc():
    x = np.zeros((2, 2, 8000), np.float32) + np.float32(0.1)
    y, _ = run([{"colored_noise": {"snr_db": 0, "color": "pink"}}], x, "cpu")
    n = y - x
    assert abs(np.corrcoef(n[0, 0], n[0, 1])[0, 1]) < 0.1
    np.testing.assert_allclose(n.mean(-1), 0, atol=1e-6)


def test_colored_noise_takes_a_color_or_a_decay_not_both():
    with pytest.raises(SpecError, match="op 'colored_noise', key 'f_decay'.*either a color or an f_decay"):
        augment.build([{"colored_noise": {"color": "pink", "f_decay": [0, 1]}}])
    with pytest.raises(SpecError, match="key 'f_decay'.*above 2"):
        augment.build([{"colored_noise": {"f_decay": [0, 3]}}])
    with pytest.raises(SpecError, match="op 'colored_noise'.*sample_rate"):
        augment.build([{"colored_noise": {}}])


# ---- polarity --------------------------------------------------------------------------------------------------

def test_polarity_equals_audiomentations_polarity_inversion(device):
    x = clips(n=32)
    y, pipe = run([{"polarity": {}}], x, device)
    active = pipe.last_params["0.polarity"]["active"].cpu().numpy()
    assert 0 < active.sum() < len(x)  # the default p is 0.5
    anchor = PolarityInversion(p=1.0)
    for i in range(len(x)):
        np.testing.assert_array_equal(y[i], anchor(x[i], sample_rate=RATE) if active[i] else x[i])


# ---- DALI ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("item", [
    {"polarity": {"p": 1.0}},
    {"band_limit": {"mode": "lowpass", "cutoff_hz": 1000, "rolloff_db": 18}},
    {"band_limit": {"mode": "bandpass", "center_hz": 1000, "bandwidth": 0.5, "rolloff_db": 24, "zero_phase": True}},
    {"telephone": {"gain_db": [3, 3]}},
])
def test_dali_matches_the_torch_backend_at_fixed_parameters(item):
    """DALI has no IIR filter: band_limit and telephone run the torch code inside the pipeline, so they agree
    exactly; polarity is a DALI multiply."""
    x = clips(n=4, channels=1)[:, 0]
    out, _ = run_dali([item], x)[0]
    expected, _ = run([item], x[:, None], "cpu")
    np.testing.assert_array_equal(out, expected[:, 0])


def test_dali_band_limit_replays_its_random_draws():
    x = clips(n=6, channels=1)[:, 0]
    item = {"band_limit": {"mode": "highpass", "rolloff_db": [6, 24], "p": 0.7}}
    out, params = run_dali([item], x)[0]
    drawn = {k: torch.from_numpy(v) for k, v in params["0.band_limit"].items()}
    assert len(set(drawn["cutoff_hz"].tolist())) == len(x)
    op = augment.build([item], sample_rate=RATE).ops[0]
    expected = op.apply(torch.from_numpy(x)[:, None], {**drawn, "active": drawn["active"].bool()}, None)
    np.testing.assert_array_equal(out, expected[:, 0].numpy())


def test_dali_refuses_colored_noise_naming_the_op():
    with pytest.raises(SpecError, match="op 'colored_noise' needs an inverse FFT"):
        augment.build([{"colored_noise": {}}], backend="dali", sample_rate=RATE)
