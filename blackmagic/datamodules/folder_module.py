"""Shared base of the class-folder datamodules: scan once, decode once into a cache, then train from memory."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import AugmentedDataModule, Split
from .folders import FileSplits, cache_key, decode_to_memmap, default_cache_dir, scan


class FolderDataModule(AugmentedDataModule):
    """Args:
        root: the dataset folder (see ``folders`` for the layouts understood).
        val_fraction, test_fraction: per-class fractions held out when the layout gives no split.
        cache_dir: where decoded arrays are kept (default ``$BLACKMAGIC_CACHE`` or ``~/.cache/blackmagic``).
        **kwargs: see ``AugmentedDataModule``.
    """

    suffixes: set[str] = set()
    dtype = np.uint8

    def __init__(self, root: str, val_fraction: float = 0.1, test_fraction: float = 0.1,
                 cache_dir: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.root = Path(root)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self._files: FileSplits | None = None

    @property
    def files(self) -> FileSplits:
        """The files of each split, found on first use (after ``prepare_data`` made them, where it does)."""
        if self._files is None:
            self._files = scan(self.root, self.suffixes, self.val_fraction, self.test_fraction, self.seed)
        return self._files

    @property
    def class_names(self) -> list[str]:
        return list(self.files.class_names)

    def sample_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def decode(self, path: Path) -> np.ndarray:
        raise NotImplementedError

    def options(self) -> dict:
        """Everything that changes the decoded arrays (part of the cache key)."""
        return {"kind": self.kind, "shape": list(self.sample_shape())}

    def prepare_data(self) -> None:
        for split in self.files.files:
            self._cached(split)

    def _cached(self, split: str) -> np.memmap:
        files = self.files.files[split]
        key = cache_key(files, self.options())
        path = self.cache_dir / type(self).__name__ / key / f"{split}.bin"
        return decode_to_memmap(files, self.decode, self.sample_shape(), self.dtype, path,
                                f"decoding {self.root.name}/{split} ({len(files)} files)")

    def load(self) -> dict[str, Split]:
        return {split: Split(self._cached(split), torch.tensor(self.files.labels[split], dtype=torch.long))
                for split in ("train", "val", "test")}
