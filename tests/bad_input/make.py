"""Small bad (and good) data files for the bad-input tests, built in a temporary folder."""
from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

RATE = 16_000


def tone(seconds: float = 1.0, rate: int = RATE, freq: float = 300.0) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav(path: Path, wave: np.ndarray | None = None, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, tone() if wave is None else wave, RATE, subtype=subtype)
    return path


def audio_tree(root: Path, per_class: int = 6, seconds: float = 0.5) -> Path:
    """``root/{no,yes}/iN.wav``: enough files per class for a seeded train / val / test split."""
    for word in ("no", "yes"):
        for i in range(per_class):
            wav(root / word / f"i{i}.wav", tone(seconds, freq=200 + 100 * i))
    return root


def image_tree(root: Path, per_class: int = 6, size: tuple[int, int] = (8, 10)) -> Path:
    """``root/{cat,dog}/iN.png``, 8-bit RGB."""
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / c / f"i{i}.png")
    return root


def png16_rgb(path: Path, rgb: np.ndarray) -> Path:
    """A 16-bit RGB PNG (H, W, 3) uint16, written by hand: PIL cannot write one."""
    h, w, _ = rgb.shape
    rows = b"".join(b"\x00" + rgb[i].astype(">u2").tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def idx(path: Path, array: np.ndarray, cut: int = 0, magic: bytes | None = None) -> Path:
    """A gzipped unsigned-byte IDX file; ``cut`` drops bytes from its end, ``magic`` replaces its first 4."""
    header = (magic or bytes([0, 0, 8, array.ndim])) + np.array(array.shape, ">u4").tobytes()
    raw = header + array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(raw[: len(raw) - cut])
    return path


def fashion_root(root: Path, train_labels: np.ndarray | None = None) -> Path:
    """The four Fashion-MNIST IDX files, 20 training and 6 test images (labels 0..9 unless given)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    idx(root / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)))
    idx(root / "train-labels-idx1-ubyte.gz", np.arange(20) % 10 if train_labels is None else train_labels)
    idx(root / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (6, 28, 28)))
    idx(root / "t10k-labels-idx1-ubyte.gz", np.arange(6) % 10)
    return root
