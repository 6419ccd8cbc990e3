"""Fashion-MNIST from the IDX files of Debian's ``dataset-fashion-mnist`` (or any folder holding them)."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from ..io import DataError
from .base import AugmentedDataModule, Split
from .dali_feeds import DaliArrayFeed
from .feeds import TorchFeed

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def find_idx(path: Path) -> Path:
    """``path`` or ``path.gz``, whichever exists."""
    found = next((p for p in (path, path.with_name(path.name + ".gz")) if p.is_file()), None)
    if found is None:
        raise DataError(f"{path}(.gz): not found; install Debian's dataset-fashion-mnist or pass root: to the folder "
                        "holding the four IDX files")
    return found


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a NumPy array of its declared shape."""
    found = find_idx(path)
    opener = gzip.open if found.suffix == ".gz" else open
    try:
        with opener(found, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{found}: cannot be read ({e}); is it truncated?") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{found}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", ndim, 4).astype(int)
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{found}: holds {body.size} values where its header promises {int(np.prod(dims))}; truncated?")
    return body.reshape(dims)


def read_labels(path: Path, num_classes: int) -> np.ndarray:
    """Read an IDX label file, refusing values that are not class indices ``0 .. num_classes - 1``."""
    found = find_idx(path)
    y = read_idx(found)
    if y.ndim != 1:
        raise DataError(f"{found}: a label file holds one value per image (1-D); this one has shape {y.shape}")
    bad = np.flatnonzero(y >= num_classes)
    if bad.size:
        raise DataError(f"{found}: label {y[bad[0]]} at index {bad[0]} is not a class index 0..{num_classes - 1} "
                        f"({bad.size} of {len(y)} labels are out of range); is it another dataset's label file?")
    return y


class FashionMNISTDataModule(AugmentedDataModule):
    """Fashion-MNIST, 28x28 greyscale, 10 classes: a seeded train/val split of the 60k training images and the
    10k test images held out. The whole set stays on the training device as uint8 and is augmented there.

    Args:
        root: folder with the IDX files (gzipped or not).
        val_size: training images held out for validation.
        **kwargs: see ``AugmentedDataModule`` (batch_size, augment, seed, overfit, test_shifts, feed, ...);
            ``feed: dali``: an external source feeds the arrays in this epoch's schedule, DALI augments them.
    """

    default_shifts = {
        "rotated": [{"rotate": {"degrees": 20}}],
        "noisy": [{"noise": {"std": [0.1, 0.1]}}],
        "blurred": [{"blur": {"sigma": [1.0, 1.0]}}],
    }

    feeds = {"torch": TorchFeed, "dali": DaliArrayFeed}

    def __init__(self, root: str = DEFAULT_ROOT, val_size: int = 5000, **kwargs):
        super().__init__(**kwargs)
        self.root, self.val_size = Path(root), val_size

    @property
    def class_names(self) -> list[str]:
        return list(CLASSES)

    def load(self) -> dict[str, Split]:
        arrays = {}
        for split, (images, labels) in FILES.items():
            x = read_idx(self.root / images)
            y = read_labels(self.root / labels, len(CLASSES))
            if x.ndim != 3 or len(x) != len(y):
                raise DataError(f"{self.root / images}: expected N x 28 x 28 images matching {len(y)} labels, got {x.shape}")
            arrays[split] = (torch.from_numpy(x.copy())[:, None], torch.from_numpy(y.astype(np.int64)))
        x, y = arrays["train"]
        if not 0 < self.val_size < len(y):
            raise ValueError(f"FashionMNISTDataModule: val_size must be between 1 and {len(y) - 1}, got {self.val_size}")
        order = torch.from_numpy(np.random.default_rng(self.seed).permutation(len(y)))
        val, train = order[: self.val_size], order[self.val_size :]
        on_device = self.trainer is not None and not self.feed.host_arrays
        device = self.trainer.strategy.root_device if on_device else torch.device("cpu")
        put = lambda t: t.to(device)  # noqa: E731  (the whole set lives on the training device)
        return {"train": Split(put(x[train]), put(y[train])), "val": Split(put(x[val]), put(y[val])),
                "test": Split(put(arrays["test"][0]), put(arrays["test"][1]))}
