"""Shared base of the class-folder datamodules: scan once, decode once into a cache, then train from memory."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import AugmentedDataModule, Split
from .folders import SPLIT_DIRS, FileSplits, cache_key, decode_to_memmap, default_cache_dir, scan, test_set


class FolderDataModule(AugmentedDataModule):
    """Args:
        root: the dataset folder (see ``folders`` for the layouts understood); ``None`` with ``test_root``: a
            datamodule that only tests.
        val_fraction, test_fraction: per-class fractions held out when the layout gives no split.
        cache_dir: where decoded arrays are kept (default ``$BLACKMAGIC_CACHE`` or ``~/.cache/blackmagic``).
        test_root: test on every file of this folder of class folders (recordings or images from elsewhere)
            instead of ``root``'s test split (a seeded split of ``root`` then holds out no test files; the
            files of a ``test`` folder or ``testing_list.txt`` are left out). Its class names are matched by
            name to the datamodule's (``root``'s, or its own without ``root``); unknown ones are refused. A run
            that only tests (``blackmagic test``) reads nothing of ``root`` but its class names.
        **kwargs: see ``AugmentedDataModule``.
    """

    suffixes: set[str] = set()
    dtype = np.uint8

    def __init__(self, root: str | None, val_fraction: float = 0.1, test_fraction: float = 0.1,
                 cache_dir: str | None = None, test_root: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if root is None and test_root is None:
            raise ValueError(f"{type(self).__name__}: give root (the data to train on), test_root (a folder to test "
                             "on), or both")
        self.root = Path(root) if root is not None else None
        self.test_root = Path(test_root) if test_root is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self._root_files: FileSplits | None = None
        self._test_files: FileSplits | None = None
        self._merged: FileSplits | None = None  # root's train and val, test_root's test

    @property
    def files(self) -> FileSplits:
        """The files of each split, found on first use (after ``prepare_data`` made them, where it does); only
        the test split's while only testing on ``test_root``."""
        if self.test_root is None:
            return self._scan_root()
        if self._test_files is None:
            self._test_files = test_set(self.test_root, self.suffixes, self.class_names if self.root else None)
        if self.only_tests():
            return self._test_files
        if self._merged is None:
            root, test = self._scan_root(), self._test_files
            self._merged = FileSplits(root.class_names, {**root.files, "test": test.files["test"]},
                                      {**root.labels, "test": test.labels["test"]})
        return self._merged

    def _scan_root(self) -> FileSplits:
        if self._root_files is None:
            required = ("train", "val") if self.test_root else SPLIT_DIRS
            test_fraction = 0.0 if self.test_root else self.test_fraction  # test_root is the test set
            self._root_files = scan(self.root, self.suffixes, self.val_fraction, test_fraction, self.seed, required)
        return self._root_files

    def only_tests(self) -> bool:
        """Whether only the test split is needed: testing (or predicting) on ``test_root``, or no ``root``."""
        if self.test_root is None:
            return False
        trainer = self.trainer
        testing = trainer is not None and (trainer.testing or trainer.predicting)
        return self.root is None or testing

    @property
    def test_files(self) -> list[Path]:
        """The test split's files, in test order (the folder report reads speakers from their names)."""
        return list(self.files.files["test"])

    @property
    def class_names(self) -> list[str]:
        if self.root is None:
            return list(self.files.class_names)
        return list(self._scan_root().class_names)

    def sample_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def decode(self, path: Path) -> np.ndarray:
        raise NotImplementedError

    def options(self) -> dict:
        """Everything that changes the decoded arrays (part of the cache key)."""
        return {"kind": self.kind, "shape": list(self.sample_shape())}

    def _needed(self) -> list[str]:
        return ["test"] if self.only_tests() else [s for s in SPLIT_DIRS if self.files.files[s]]

    def prepare_data(self) -> None:
        if self.feed.streams_files:
            return  # no cache to fill: the feed decodes the files on the fly
        for split in self._needed():
            self._cached(split)

    def setup(self, stage: str | None = None) -> None:
        if self.root is None and stage in ("fit", "validate"):
            raise ValueError(f"{type(self).__name__}: root is null, so there is nothing to {stage} on; this "
                             f"datamodule only tests on test_root ({self.test_root})")
        if self.feed.streams_files:
            self._overfit_files()  # nothing to load up front: the feed streams the files
        else:
            super().setup(stage)

    def _overfit_files(self) -> None:
        """Train and validate on the fixed files of ``overfit`` (the feed streams them)."""
        if self.overfit and self.files.files["val"] is not self.files.files["train"]:
            pick = np.sort(np.random.default_rng(self.seed).permutation(len(self.files.files["train"]))[: self.overfit])
            for key in ("files", "labels"):
                table = getattr(self.files, key)
                table["train"] = table["val"] = [table["train"][i] for i in pick]

    def _cached(self, split: str) -> np.memmap:
        files = self.files.files[split]
        key = cache_key(files, self.options())
        path = self.cache_dir / type(self).__name__ / key / f"{split}.bin"
        name = (self.test_root if split == "test" and self.test_root else self.root).name
        return decode_to_memmap(files, self.decode, self.sample_shape(), self.dtype, path,
                                f"decoding {name}/{split} ({len(files)} files)")

    def load(self) -> dict[str, Split]:
        return {split: Split(self._cached(split), torch.tensor(self.files.labels[split], dtype=torch.long))
                for split in self._needed()}
