"""Reading images and audio for the datamodules and the preview, with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class DataError(ValueError):
    """A data file or folder cannot be used; the message names it and says why."""


def read_image(path: Path) -> torch.Tensor:
    """Decode an image file to uint8 (C, H, W): C = 1 for greyscale, 3 otherwise (alpha is dropped)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            mode = "L" if im.mode in ("1", "L", "I;16", "I", "F", "LA") else "RGB"
            arr = np.array(im.convert(mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: not a readable image ({e}); is it truncated or of another format?") from None
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise DataError(f"{path}: the image is empty ({arr.shape[2]}x{arr.shape[1]} pixels)")
    return torch.from_numpy(np.ascontiguousarray(arr))


def read_audio(path: Path, sample_rate: int, seconds: float | None = None) -> torch.Tensor:
    """Decode WAV/FLAC/OGG to mono float32 (1, T) at ``sample_rate``; ``seconds`` pads or crops to a length."""
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (T, C)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise DataError(f"{path}: not readable audio ({e}); is it truncated or of another format?") from None
    if data.shape[0] == 0:
        raise DataError(f"{path}: the audio has no samples (zero length)")
    clip = torch.from_numpy(data.mean(1))[None]  # (1, T) mono
    if rate != sample_rate:
        import torchaudio

        clip = torchaudio.functional.resample(clip, rate, sample_rate)
    if seconds is not None:
        length = int(round(seconds * sample_rate))
        clip = torch.nn.functional.pad(clip, (0, max(0, length - clip.shape[-1])))[:, :length]
    return clip.contiguous()
