"""One line per transform: the spec item the shared tests run (random ranges, p=1), the input it takes, and where
it has one, the same op at fixed parameters with the tolerance of the DALI backend against the torch backend.

Adding a transform = one file in ``blackmagic/augment/ops`` plus one line here (a test fails for an op without).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

IMAGE = (6, 3, 16, 16)
GREY = (6, 1, 16, 16)
AUDIO = (6, 2, 800)
SPECTROGRAM = (6, 1, 20, 30)
CLASSES = 4


def _zca(pipe):
    pipe.fit(torch.rand(64, *GREY[1:], generator=torch.Generator().manual_seed(9)))


def _noise(pipe):
    pipe.set_noise(torch.randn(3000, generator=torch.Generator().manual_seed(9)))


def _rooms(pipe):  # 32 decaying-noise responses, 40-600 samples
    pipe.set_impulse_responses([torch.randn(n, generator=torch.Generator().manual_seed(n))
                                * torch.exp(-torch.arange(n) / (n / 4)) for n in range(40, 600, 18)])


@dataclass(frozen=True)
class Case:
    """How the shared tests run one transform.

    Args:
        item: the spec item, with random ranges.
        shape: the batch it takes.
        setup: what an op that learns from data or takes recordings is given first.
        may_keep: gated at p < 1 here (a flip is either on or off): a sample may come out unchanged.
        targets: a batch op (mixup, cutmix), called with targets; its draws show in the mixed targets.
        dali: the op at fixed parameters, and the DALI backend's tolerance against the torch backend there.
    """

    item: dict
    shape: tuple
    setup: Callable | None = None
    may_keep: bool = False
    targets: bool = False
    dali: tuple[dict, float] | None = None

    @property
    def op(self) -> str:
        return next(iter(self.item))

    def prepare(self, pipe):
        if self.setup is not None:
            self.setup(pipe)
        return pipe

    def run(self, pipe, x: torch.Tensor, params: dict | None = None) -> torch.Tensor:
        """The augmented batch; for a batch op, each sample flattened with its mixed targets appended."""
        if not self.targets:
            return pipe(x, params=params)
        y, t = pipe(x, params=params, targets=batch_targets(x))
        return torch.cat([y.flatten(1), t], 1)


    def unchanged(self, x: torch.Tensor) -> torch.Tensor:
        """What ``run`` gives for a transform that changes nothing."""
        return self.run(_identity, x)


def _identity(x, params=None, targets=None):
    return x if targets is None else (x, targets)


def batch_targets(x: torch.Tensor) -> torch.Tensor:
    return F.one_hot(torch.arange(x.shape[0], device=x.device) % CLASSES, CLASSES).float()


CASES = {
    "noise": Case({"noise": {"std": [0.01, 0.1]}}, IMAGE),
    "pixel_dropout": Case({"pixel_dropout": {"rate": [0.05, 0.3]}}, IMAGE),
    "color_shift": Case({"color_shift": {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.1,
                                         "shift": 0.05}}, IMAGE,
                        dali=({"color_shift": {"brightness": [1.2, 1.2], "contrast": [0.8, 0.8], "saturation": [1.3, 1.3],
                                               "hue": [0.07, 0.07], "shift": [0.03, 0.03]}}, 1e-5)),
    "color_shift_grey": Case({"color_shift": {"brightness": 0.3, "contrast": 0.3, "shift": 0.05}}, GREY),
    "rotate": Case({"rotate": {"degrees": 40}}, IMAGE, dali=({"rotate": {"degrees": [27, 27]}}, 1e-5)),
    "translate": Case({"translate": {"x": 3, "y": 3}}, IMAGE,
                      dali=({"translate": {"x": [2.5, 2.5], "y": [-1, -1]}}, 1e-5)),
    "scale": Case({"scale": {"factor": 0.3}}, IMAGE, dali=({"scale": {"factor": [1.3, 1.3]}}, 1e-5)),
    "flip": Case({"flip": {"p": 0.5}}, IMAGE, may_keep=True, dali=({"flip": {"p": 1.0}}, 1e-5)),
    "blur": Case({"blur": {"sigma": [0.5, 2.0]}}, IMAGE, dali=({"blur": {"sigma": [1.1, 1.1]}}, 1e-5)),
    "whiten": Case({"whiten": {"mode": "standardize", "strength": [0.5, 1.0]}}, IMAGE,
                   dali=({"whiten": {"mode": "standardize", "strength": [0.7, 0.7]}}, 1e-4)),
    "whiten_zca": Case({"whiten": {"mode": "zca", "strength": [0.5, 1.0]}}, GREY, setup=_zca),
    "kornia": Case({"kornia": {"transform": "RandomElasticTransform", "args": {"alpha": [2, 4], "sigma": [4, 4]}}},
                   IMAGE),
    "mixup": Case({"mixup": {"alpha": 1.0}}, IMAGE, targets=True),
    "cutmix": Case({"cutmix": {"alpha": 1.0}}, IMAGE, targets=True),
    "time_shift": Case({"time_shift": {"shift": [-0.3, 0.3]}}, AUDIO, dali=({"time_shift": {"shift": [0.25, 0.25]}}, 0)),
    "distortion": Case({"distortion": {"mode": "tanh", "amount": [0.1, 0.9]}}, AUDIO,
                       dali=({"distortion": {"mode": "tanh", "amount": [0.4, 0.4]}}, 1e-6)),
    "distortion_clip": Case({"distortion": {"mode": "clip", "amount": [0.1, 0.4]}}, AUDIO,
                            dali=({"distortion": {"mode": "clip", "amount": [0.2, 0.2]}}, 1e-6)),
    "gain": Case({"gain": {"db": [-12, 12]}}, AUDIO, dali=({"gain": {"db": [-6, -6]}}, 1e-6)),
    "noise_snr": Case({"noise_snr": {"snr_db": [5, 20]}}, AUDIO),
    "background_noise": Case({"background_noise": {"snr_db": [0, 10]}}, AUDIO, setup=_noise),
    "band_limit": Case({"band_limit": {"mode": "lowpass", "cutoff_hz": [200, 4000], "rolloff_db": [6, 30]}}, AUDIO),
    "band_limit_zero_phase": Case({"band_limit": {"mode": "bandpass", "rolloff_db": [12, 36], "zero_phase": True}},
                                  AUDIO),
    "telephone": Case({"telephone": {"gain_db": 6}}, AUDIO),
    "equalizer": Case({"equalizer": {"gain_db": [-12, 12]}}, AUDIO,
                      dali=({"equalizer": {"gain_db": [6, 6], "center": [0.5, 0.5], "q": [1, 1], "shelf_q": [0.7, 0.7]}},
                            0)),
    "colored_noise": Case({"colored_noise": {"snr_db": [5, 20]}}, AUDIO),
    "polarity": Case({"polarity": {"p": 0.5}}, AUDIO, may_keep=True, dali=({"polarity": {"p": 1.0}}, 0)),
    "speed": Case({"speed": {"factor": [0.8, 1.2]}}, AUDIO),
    "pitch_shift": Case({"pitch_shift": {"semitones": [-4, 4], "n_fft": 256}}, AUDIO),
    "reverb": Case({"reverb": {"rt60": [0.01, 0.04], "drr_db": [-5, 10]}}, AUDIO),
    "reverb_files": Case({"reverb": {"source": "files"}}, AUDIO, setup=_rooms),
    "time_mask": Case({"time_mask": {"width": [3, 10], "count": 2}}, SPECTROGRAM),
    "freq_mask": Case({"freq_mask": {"width": [3, 8]}}, SPECTROGRAM),
    "time_warp": Case({"time_warp": {"width": 4, "knots": 2}}, SPECTROGRAM),
    "time_blur": Case({"time_blur": {"sigma": [0.5, 2.0]}}, SPECTROGRAM),
}


def sample_input(shape, device, seed=0) -> torch.Tensor:
    """Non-degenerate data: images in [0, 1], audio a noisy tone in [-1, 1], spectrograms positive."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g)
    if len(shape) == 3:
        t = torch.arange(shape[-1]) / 800
        x = 0.5 * torch.sin(2 * torch.pi * 50 * t) * (0.5 + x) - 0.1 * x
    return x.to(device)
