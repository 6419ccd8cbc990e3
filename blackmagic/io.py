"""Reading images and audio for the datamodules and the preview, with errors that name the file.

Nothing bad passes silently: a truncated WAV, non-finite samples, 16-bit or float images that would clip,
and (for readers that cannot say which file broke, like DALI's) files whose first bytes are of another kind.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif"}  # what libsndfile 1.2 reads

EIGHT_BIT_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"}
UNKNOWN_LENGTH = 0xFFFFFFFF  # the data size a WAV written as a stream declares
FRAME_FORMATS = {1, 3, 0xFFFE}  # WAV format tags whose blocks are single frames: PCM, float, extensible


class DataError(ValueError):
    """A data file or folder cannot be used; the message names it and says why."""


def read_image(path: Path) -> torch.Tensor:
    """Decode an image file to uint8 (C, H, W): C = 1 for greyscale, 3 otherwise (alpha is dropped).

    16-bit greyscale is scaled to 0..255 (65535 -> 255), as are float images (mode F) with values in [0, 1];
    PIL reads 16-bit colour as 8-bit RGB itself. Other modes are refused.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            arr = _eight_bit(im, path)
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: not a readable image ({e}); is it truncated or of another format?") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise DataError(f"{path}: the image is empty ({arr.shape[2]}x{arr.shape[1]} pixels)")
    return torch.from_numpy(np.ascontiguousarray(arr))


def _eight_bit(im, path: Path) -> np.ndarray:
    """The pixels of an open PIL image as uint8 (H, W) or (H, W, 3), scaled where ``convert`` would clip."""
    if im.mode in EIGHT_BIT_MODES:
        return np.array(im.convert("L" if im.mode in ("1", "L", "LA") else "RGB"))
    if not (im.mode == "F" or im.mode.startswith("I")):
        raise DataError(f"{path}: PIL image mode {im.mode} is not supported; save it as greyscale or RGB "
                        "(8 or 16 bit)")
    values = np.array(im)
    lo, hi = (values.min(), values.max()) if values.size else (0, 0)
    if im.mode == "F":
        if not (0 <= lo and hi <= 1):  # NaN fails both comparisons
            raise DataError(f"{path}: float pixels must lie in [0, 1]; they span [{lo:g}, {hi:g}]. "
                            "Scale the image to [0, 1] or save it as 8-bit.")
        return np.round(values * 255.0).astype(np.uint8)
    if lo < 0 or hi > 65535:  # I;16 is 16-bit greyscale; I (32-bit integers) is read as 16-bit too
        raise DataError(f"{path}: integer pixels span [{lo}, {hi}]; only 16-bit images (0..65535) are scaled "
                        "to 0..255. Save it as 8- or 16-bit.")
    return np.round(values / 257.0).astype(np.uint8)


def read_audio(path: Path, sample_rate: int, seconds: float | None = None) -> torch.Tensor:
    """Decode an audio file to mono float32 (1, T) at ``sample_rate``; ``seconds`` pads or crops to a length.

    A WAV file that holds less than its header declares (a cut-off copy) is refused, as are NaN or infinite
    samples; a clip that is simply shorter than ``seconds`` is padded with silence.
    """
    import soundfile

    try:
        check_wav_length(path)
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (T, C)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise DataError(f"{path}: not readable audio ({e}); is it truncated or of another format?") from None
    if data.shape[0] == 0:
        raise DataError(f"{path}: the audio has no samples (zero length)")
    check_finite(data, rate, path)
    clip = torch.from_numpy(data.mean(1))[None]  # (1, T) mono
    if rate != sample_rate:
        import torchaudio

        clip = torchaudio.functional.resample(clip, rate, sample_rate)
    if seconds is not None:
        length = int(round(seconds * sample_rate))
        clip = torch.nn.functional.pad(clip, (0, max(0, length - clip.shape[-1])))[:, :length]
    return clip.contiguous()


def check_finite(data: np.ndarray, rate: int, path: Path) -> None:
    """Refuse NaN and infinite samples in decoded audio (T, C), naming the first one."""
    bad = ~np.isfinite(data)
    if bad.any():
        frame, channel = (int(i[0]) for i in np.nonzero(bad))
        raise DataError(f"{path}: sample {frame} ({frame / rate:.3f} s, channel {channel}) is {data[frame, channel]}; "
                        f"audio must be finite ({int(bad.sum())} samples are not). Fix or drop the file.")


def check_wav_length(path: Path) -> None:
    """Refuse a WAV file whose ``data`` chunk holds fewer samples than its header declares.

    libsndfile quietly reads what is there, so a cut-off copy would pass as a short clip. A header that
    declares 0xFFFFFFFF bytes (a stream of unknown length) is read to the end of the file; one that declares
    0 bytes with samples after it (a stream whose header was never completed) would read as empty, so it is
    refused too. Other formats are left to libsndfile.
    """
    found = _wav_data_chunk(path)
    if found is None:
        return
    rate, block, size, present = found
    declared, held = size // block, present // block
    if size == 0 and held:
        raise DataError(f"{path}: its header declares no samples but {held} ({held / rate:.3f} s) follow; "
                        "a stream whose header was never completed? Save it again")
    if size != UNKNOWN_LENGTH and held < declared:
        raise DataError(f"{path}: truncated: its header declares {declared} samples ({declared / rate:.3f} s) "
                        f"but the file holds {held} ({held / rate:.3f} s); copy or export it again")


def _wav_data_chunk(path: Path) -> tuple[int, int, int, int] | None:
    """Sample rate, bytes per frame, and the declared and present bytes of a PCM or float WAV's ``data``
    chunk; ``None`` for other files (and WAVs too broken to tell, which libsndfile then refuses)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        rate = block = 0
        while len(header := f.read(8)) == 8:
            chunk, size = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"data":
                present = os.fstat(f.fileno()).st_size - f.tell()
                return (rate, block, size, present) if rate and block else None
            if chunk == b"fmt ":
                fmt = f.read(16)
                if int.from_bytes(fmt[0:2], "little") not in FRAME_FORMATS:
                    return None
                rate, block = int.from_bytes(fmt[4:8], "little"), int.from_bytes(fmt[12:14], "little")
                size -= len(fmt)
            f.seek(size + (size & 1), 1)  # chunks are padded to an even size
    return None


CONTAINERS = {(b"RIFF", b"WAVE"): "WAV", (b"RF64", b"WAVE"): "WAV", (b"RIFF", b"WEBP"): "WebP",
              (b"FORM", b"AIFF"): "AIFF", (b"FORM", b"AIFC"): "AIFF"}  # (bytes 0-3, bytes 8-11)
SIGNATURES = {
    "JPEG": (b"\xff\xd8\xff",), "PNG": (b"\x89PNG\r\n\x1a\n",), "BMP": (b"BM",), "GIF": (b"GIF87a", b"GIF89a"),
    "TIFF": (b"II*\x00", b"MM\x00*"), "FLAC": (b"fLaC",), "OGG": (b"OggS",), "MP3": (b"ID3",),
}


def sniff(path: Path) -> str | None:
    """The format a file's first 16 bytes announce ("JPEG", "PNG", "WAV", "MP3", ...), or ``None``."""
    with open(path, "rb") as f:
        head = f.read(16)
    if (head[:4], head[8:12]) in CONTAINERS:
        return CONTAINERS[head[:4], head[8:12]]
    for name, magics in SIGNATURES.items():
        if head.startswith(magics):
            return name
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio frame sync
        return "MP3"
    return None


def check_formats(files: list[Path], accepted: set[str], reader: str, instead: str = "") -> None:
    """Refuse, before ``reader`` sees them, files whose first bytes are not of an ``accepted`` format.

    Args:
        files: the files to check (16 bytes are read from each).
        accepted: format names as ``sniff`` gives them.
        reader: who will decode them, for the message (e.g. "DALI's image decoder").
        instead: advice for files of a known format that ``reader`` cannot decode.
    """
    formats = ", ".join(sorted(accepted))
    for path in files:
        try:
            found = sniff(path)
        except OSError as e:
            raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
        if found is None:
            raise DataError(f"{path}: its first bytes are not those of any {formats} file, which {reader} needs; "
                            "is it a file of another kind renamed? Convert it or remove it")
        if found not in accepted:
            raise DataError(f"{path}: {found} data, which {reader} cannot decode (it reads {formats}); "
                            f"convert it or remove it{instead}")
