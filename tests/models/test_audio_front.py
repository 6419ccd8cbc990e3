"""The audio net's log-mel front end: its normalisations and its floor do what they say."""
import torch
import torchaudio

from blackmagic.models.audio_net import LogMel

RATE = 16_000


def voiced(f0: float, seconds: float = 0.5) -> torch.Tensor:
    """A pulse train at ``f0`` through two fixed resonances (700 and 1200 Hz): one vowel, one pitch."""
    n = int(RATE * seconds)
    source = torch.zeros(n)
    source[:: int(RATE / f0)] = 1.0
    for centre in (700.0, 1200.0):
        source = torchaudio.functional.bandpass_biquad(source, RATE, centre, Q=4.0)
    return source[None, None] / source.abs().max()


def distance(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / a.norm())


def test_band_normalisation_removes_a_fixed_channel_response():
    wave = voiced(150.0) + 0.05 * torch.randn(1, 1, RATE // 2, generator=torch.Generator().manual_seed(0))
    coloured = torchaudio.functional.preemphasis(wave, 0.6)  # a microphone with less bass
    band, utterance = LogMel(normalise="band"), LogMel(normalise="utterance")
    assert distance(band(wave), band(coloured)) < 0.75 * distance(utterance(wave), utterance(coloured))


def test_top_db_makes_digital_silence_and_a_quiet_noise_floor_alike():
    speech = voiced(150.0)
    silent = torch.cat([speech, torch.zeros(1, 1, RATE // 2)], -1)
    hiss = torch.cat([speech, 1e-5 * torch.randn(1, 1, RATE // 2, generator=torch.Generator().manual_seed(0))], -1)  # 100 dB below the peak
    floored, plain = LogMel(top_db=60.0), LogMel()
    assert distance(floored(silent), floored(hiss)) < 0.1 * distance(plain(silent), plain(hiss))
