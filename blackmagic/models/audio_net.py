"""A small keyword-spotting net: log-mel front end on the device, SpecAugment from the engine, conv + Fire body."""
from __future__ import annotations

import math

import torch
import torchaudio
from torch import nn

from .. import augment
from .blocks import ConvBlock, Fire, head


NORMALISE = ("utterance", "band")


class LogMel(nn.Module):
    """Waveform (B, 1, T) -> log-mel spectrogram (B, 1, n_mels, frames), normalised per utterance.

    ``normalise``: ``utterance`` takes out the clip's mean and standard deviation; ``band`` takes each mel band's
    mean over time out first (the log-mel form of cepstral mean normalisation: a microphone's or channel's fixed
    frequency response, a constant gain per band, is gone), then the clip's standard deviation.
    ``top_db``: if given, every bin more than this far below the clip's loudest is raised to that floor first (as
    librosa's ``power_to_db``), so that the digital silence of synthesised speech and the noise floor of a
    recording look alike.
    """

    def __init__(self, sample_rate: int = 16_000, n_mels: int = 40, win_ms: float = 25.0, hop_ms: float = 10.0,
                 normalise: str = "utterance", top_db: float | None = None):
        super().__init__()
        if normalise not in NORMALISE:
            raise ValueError(f"LogMel: normalise must be one of {', '.join(NORMALISE)}, got {normalise!r}")
        self.sample_rate, self.normalise, self.top_db = sample_rate, normalise, top_db
        win = int(sample_rate * win_ms / 1000)
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=1 << (win - 1).bit_length(), win_length=win,
            hop_length=int(sample_rate * hop_ms / 1000), n_mels=n_mels)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = (self.mel(wave.mean(1, keepdim=True)) + 1e-6).log()  # (B, 1, n_mels, frames)
        if self.top_db is not None:
            floor = spec.amax((2, 3), keepdim=True) - self.top_db * math.log(10) / 10
            spec = torch.maximum(spec, floor)
        centred = spec - spec.mean(3 if self.normalise == "band" else (2, 3), keepdim=True)
        return centred / (centred.std((2, 3), keepdim=True) + 1e-5)


class AudioNet(nn.Module):
    """Log-mel -> SpecAugment (training only) -> conv blocks -> Fire -> pool -> dropout -> linear.

    Args:
        in_channels: waveform channels (mixed to mono by the front end).
        num_classes: outputs.
        sample_rate: the waveform rate; must match the datamodule's.
        n_mels: mel bands.
        widths: channels of the four stages.
        dropout: before the classifier (only after a wide layer).
        spec_augment: an engine spec of ``time_mask`` / ``freq_mask`` ops applied while training.
        normalise, top_db: the front end's normalisation (``utterance`` or ``band``) and floor (see ``LogMel``).

    Shape: (B, C, T) -> (B, num_classes) logits.
    """

    def __init__(self, in_channels: int, num_classes: int, sample_rate: int = 16_000, n_mels: int = 40,
                 widths: tuple[int, ...] = (32, 64, 192, 320), dropout: float = 0.25,
                 spec_augment: list | None = None, normalise: str = "utterance", top_db: float | None = None):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.sample_rate = sample_rate
        self.front = LogMel(sample_rate, n_mels, normalise=normalise, top_db=top_db)
        self.spec_augment = augment.build(spec_augment) if spec_augment else None
        self.features = nn.Sequential(
            ConvBlock(1, w1),
            ConvBlock(w1, w2),
            Fire(w2, w3 // 8, w3 // 2),
            nn.MaxPool2d(2),
            Fire(w3, w4 // 8, w4 // 2),
        )
        self.classifier = head(w4, num_classes, dropout)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = self.front(wave)
        if self.training and self.spec_augment is not None:
            spec = self.spec_augment(spec)
        return self.classifier(self.features(spec))
