"""Keyword / sound classification from class folders of audio files (Speech Commands layout too)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..io import AUDIO_SUFFIXES, read_audio
from ..units import float_to_int16
from .dali_feeds import DaliAudioFileFeed
from .feeds import TorchFeed
from .folder_module import FolderDataModule



class AudioFolderDataModule(FolderDataModule):
    """Class sub-folders of audio (WAV, FLAC, OGG/Opus, MP3, AIFF), read with soundfile, mixed to mono,
    resampled to one rate and padded or cropped to one length; kept as int16 and turned into float waveforms
    in [-1, 1] on the device. Truncated WAV files and NaN or infinite samples are refused, naming the file.

    A ``_background_noise_`` folder is not a class: its recordings feed a ``background_noise`` op in the
    augment spec, if the spec has one.

    Args:
        root: ``root/CLASS/*.wav`` (optionally with Speech Commands' validation_list.txt / testing_list.txt);
            ``null`` with ``test_root`` to test only.
        sample_rate: the rate every clip is resampled to.
        seconds: the length every clip is padded or cropped to.
        **kwargs: see ``FolderDataModule`` and ``AugmentedDataModule``; ``feed: dali`` decodes the files in DALI
            on every epoch instead of once into the cache (no MP3, no ``background_noise`` op).
    """

    kind = "audio"
    suffixes = AUDIO_SUFFIXES
    dtype = np.int16
    default_shifts = {
        "noisy": [{"noise_snr": {"snr_db": [10, 10]}}],
        "shifted": [{"time_shift": {"shift": 0.15, "rollover": False}}],
        "quiet": [{"gain": {"db": [-20, -20]}}],
    }
    feeds = {"torch": TorchFeed, "dali": DaliAudioFileFeed}

    def __init__(self, root: str | None = None, sample_rate: int = 16_000, seconds: float = 1.0, **kwargs):
        self._sample_rate, self.seconds = sample_rate, seconds
        super().__init__(root, **kwargs)
        noise = self.pipeline is not None and any(op.recordings == "noise" for op in self.pipeline.ops)
        if noise and self.root is not None:  # a module that only tests, or fed by DALI (pipeline None), reads none
            self.pipeline.set_noise(self.background_noise())

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    def sample_shape(self):
        return (1, int(round(self.seconds * self.sample_rate)))

    def options(self):
        return {**super().options(), "rate": self.sample_rate}

    def decode(self, path: Path) -> np.ndarray:
        clip = read_audio(path, self.sample_rate, self.seconds)
        return float_to_int16(clip).numpy()

    def background_noise(self) -> list[torch.Tensor]:
        folder = self.root / "_background_noise_"
        files = sorted(f for f in folder.glob("*") if f.suffix.lower() in AUDIO_SUFFIXES) if folder.is_dir() else []
        if not files:
            raise FileNotFoundError(f"{folder}: the augment spec mixes background_noise but this folder holds no "
                                    "recordings; add some or drop the op")
        return [read_audio(f, self.sample_rate)[0] for f in files]
