"""One line per transform: the spec item the shared tests run (random ranges, p=1) and the input it takes.

Adding a transform = one file in ``blackmagic/augment/ops`` plus one line here.
"""
import torch

IMAGE = (6, 3, 16, 16)
GREY = (6, 1, 16, 16)
AUDIO = (6, 2, 800)
SPECTROGRAM = (6, 1, 20, 30)

CASES = {
    "noise": ({"noise": {"std": [0.01, 0.1]}}, IMAGE),
    "pixel_dropout": ({"pixel_dropout": {"rate": [0.05, 0.3]}}, IMAGE),
    "color_shift": ({"color_shift": {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.1, "shift": 0.05}}, IMAGE),
    "color_shift_grey": ({"color_shift": {"brightness": 0.3, "contrast": 0.3, "shift": 0.05}}, GREY),
    "rotate": ({"rotate": {"degrees": 40}}, IMAGE),
    "translate": ({"translate": {"x": 3, "y": 3}}, IMAGE),
    "scale": ({"scale": {"factor": 0.3}}, IMAGE),
    "flip": ({"flip": {"p": 0.5}}, IMAGE),
    "blur": ({"blur": {"sigma": [0.5, 2.0]}}, IMAGE),
    "whiten": ({"whiten": {"mode": "standardize", "strength": [0.5, 1.0]}}, IMAGE),
    "whiten_zca": ({"whiten": {"mode": "zca", "strength": [0.5, 1.0]}}, GREY),
    "time_shift": ({"time_shift": {"shift": [-0.3, 0.3]}}, AUDIO),
    "distortion": ({"distortion": {"mode": "tanh", "amount": [0.1, 0.9]}}, AUDIO),
    "distortion_clip": ({"distortion": {"mode": "clip", "amount": [0.1, 0.4]}}, AUDIO),
    "gain": ({"gain": {"db": [-12, 12]}}, AUDIO),
    "noise_snr": ({"noise_snr": {"snr_db": [5, 20]}}, AUDIO),
    "background_noise": ({"background_noise": {"snr_db": [0, 10]}}, AUDIO),
    "band_limit": ({"band_limit": {"mode": "lowpass", "cutoff_hz": [200, 4000], "rolloff_db": [6, 30]}}, AUDIO),
    "band_limit_zero_phase": ({"band_limit": {"mode": "bandpass", "rolloff_db": [12, 36], "zero_phase": True}}, AUDIO),
    "telephone": ({"telephone": {"gain_db": 6}}, AUDIO),
    "colored_noise": ({"colored_noise": {"snr_db": [5, 20]}}, AUDIO),
    "polarity": ({"polarity": {"p": 0.5}}, AUDIO),
    "speed": ({"speed": {"factor": [0.8, 1.2]}}, AUDIO),
    "pitch_shift": ({"pitch_shift": {"semitones": [-4, 4], "n_fft": 256}}, AUDIO),
    "reverb": ({"reverb": {"rt60": [0.01, 0.04], "drr_db": [-5, 10]}}, AUDIO),
    "reverb_files": ({"reverb": {"source": "files"}}, AUDIO),
    "time_mask": ({"time_mask": {"width": [3, 10], "count": 2}}, SPECTROGRAM),
    "freq_mask": ({"freq_mask": {"width": [3, 8]}}, SPECTROGRAM),
}

# Transforms that learn from data before use: what the shared tests give them.
SETUP = {
    "whiten_zca": lambda pipe: pipe.fit(torch.rand(64, *GREY[1:], generator=torch.Generator().manual_seed(9))),
    "background_noise": lambda pipe: pipe.set_noise(torch.randn(3000, generator=torch.Generator().manual_seed(9))),
    "reverb_files": lambda pipe: pipe.ops[0].set_impulse_responses(  # 32 decaying-noise responses, 40-600 samples
        [torch.randn(n, generator=torch.Generator().manual_seed(n)) * torch.exp(-torch.arange(n) / (n / 4))
         for n in range(40, 600, 18)]),
}

# Transforms gated at p < 1 here (a flip is either on or off): the test that demands every sample to
# change skips them.
MAY_KEEP = {"flip", "polarity"}


def sample_input(shape, device, seed=0) -> torch.Tensor:
    """Non-degenerate data: images in [0, 1], audio a noisy tone in [-1, 1], spectrograms positive."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g)
    if len(shape) == 3:
        t = torch.arange(shape[-1]) / 800
        x = 0.5 * torch.sin(2 * torch.pi * 50 * t) * (0.5 + x) - 0.1 * x
    return x.to(device)
