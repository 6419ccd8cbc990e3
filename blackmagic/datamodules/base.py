"""The shared DataModule: in-memory splits, a fresh schedule every epoch, augmentation on the device.

A subclass only says how to load its splits (``load``) and what its classes are. Everything the
practitioner's rules ask for lives here once: reshuffle every epoch without repeating a minibatch,
augmentation in ``on_after_batch_transfer`` while training only, inputs squeezed to [-1, 1], an ``overfit``
mode, and shifted copies of the test set that show what augmentation buys. How batches are made and
finished is the job of the feed the datamodule holds (``feeds``: torch by default, or DALI).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import lightning as L
import numpy as np
import torch

from .. import augment
from ..augment.suite import Suite, read_suite
from .batches import TrainingPosition
from .feeds import Feed, TorchFeed


@dataclass
class Split:
    """Samples (tensor or NumPy array / memmap, N first) and integer labels (N,)."""

    x: Any
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> "Split":
        return Split(self.x[torch.from_numpy(idx)] if isinstance(self.x, torch.Tensor) else self.x[idx],
                     self.y[torch.from_numpy(idx)])


class AugmentedDataModule(L.LightningDataModule):
    """Base for every blackmagic datamodule.

    Args:
        batch_size: training batch size per device.
        augment: engine spec applied to each training batch on its device (fresh draws every step).
        seed: fixes splits, epoch orders and augmentation draws.
        overfit: if > 0, train and validate on this many fixed training samples with augmentation off.
        test_shifts: fixed-seed shifted copies of the test set, each logged as ``test_<name>_acc``: a mapping
            name -> spec (one set), or a suite (``augment.suite``): its YAML file, a built-in suite's name
            (``images``, ``audio``), or a mapping name -> [spec at severity 1, ...] (sets ``<name>_1``, ...).
        eval_batch_size: batch size for validation and test (default: 2 x batch_size).
        feed: what makes and finishes the batches: ``torch`` (in-memory batches, the spec's torch pipeline on
            the device) or, where the datamodule has one, ``dali`` (decoded and augmented inside DALI; no torch
            augment pipeline is built); or a ``Feed`` of those kinds.
    """

    kind = "image"  # or "audio": decides the [-1, 1] squeeze and which ops a spec may hold
    default_shifts: dict[str, list] = {}
    feeds: dict[str, type[Feed]] = {"torch": TorchFeed}  # the feeds this datamodule can hold, by name

    def __init__(self, batch_size: int = 256, augment: list | None = None, seed: int = 0, overfit: int = 0,
                 test_shifts: dict[str, list] | str | None = None, eval_batch_size: int | None = None,
                 feed: Literal["torch", "dali"] | Feed = "torch"):
        super().__init__()
        self.batch_size, self.seed, self.overfit = batch_size, seed, overfit
        self.eval_batch_size = eval_batch_size or 2 * batch_size
        self.augment_spec = augment or []
        self.test_suite = self._suite(self.default_shifts if test_shifts is None else test_shifts)
        self.test_shifts = self.test_suite.shifts  # cell name -> spec, in suite order
        self.feed = self._feed(feed)
        self.pipeline = self.feed.bind(self)  # the torch augment pipeline; None where the feed augments itself
        self.shift_pipelines = {cell.name: self._build(cell.spec, f"test_shifts.{self.test_suite.where(cell)}")
                                for cell in self.test_suite.cells}
        self.splits: dict[str, Split] = {}
        self.position = TrainingPosition()  # where a resumed run continues

    # ---- what a subclass provides -------------------------------------------------------------------
    @property
    def class_names(self) -> list[str]:
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return 1

    @property
    def sample_rate(self) -> int | None:
        return None

    def load(self) -> dict[str, Split]:
        """Return the ``train``, ``val`` and ``test`` splits (uint8 images or float32 audio, N first)."""
        raise NotImplementedError

    # ---- shared machinery ---------------------------------------------------------------------------
    def _build(self, spec, where: str) -> augment.Pipeline | None:
        if not spec:
            return None
        try:
            pipe = augment.build(spec, seed=self.seed, sample_rate=self.sample_rate)
        except augment.SpecError as e:
            raise augment.SpecError(f"{type(self).__name__}.{where}: {e}") from None
        expected = {"image": "image", "audio": "audio"}[self.kind]
        if pipe.domain not in (None, "any", expected):
            raise augment.SpecError(f"{type(self).__name__}.{where}: holds {pipe.domain} ops; this datamodule gives {expected}")
        if pipe.mixes_batch and where != "augment":
            raise augment.SpecError(f"{type(self).__name__}.{where}: op '{pipe.program.batch_ops[0].name}' mixes "
                                    "labels; shifted test sets take per-sample ops only")
        return pipe

    def _feed(self, feed: str | Feed) -> Feed:
        kinds = tuple(self.feeds.values())
        if isinstance(feed, str) and feed in self.feeds:
            return self.feeds[feed]()
        if isinstance(feed, kinds):
            return feed
        raise ValueError(f"{type(self).__name__}.feed: {feed!r} is not one of its feeds "
                         f"({', '.join(self.feeds)}, or a {' / '.join(k.__name__ for k in kinds)})")

    def _suite(self, test_shifts) -> Suite:
        try:
            return read_suite(test_shifts)
        except augment.SpecError as e:
            raise augment.SpecError(f"{type(self).__name__}.test_shifts: {e}") from None

    @property
    def test_shift_names(self) -> list[str]:
        """The shifted test sets, in the order of the test dataloaders after the clean one."""
        return list(self.test_shifts)

    @property
    def test_names(self) -> list[str]:
        """Metric prefixes of the test dataloaders, by index: ``test``, then ``test_<shift>``."""
        return ["test"] + [f"test_{name}" for name in self.test_shift_names]

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = self.feed.loaded(self.load())
            if self.overfit:
                fixed = np.random.default_rng(self.seed).permutation(len(self.splits["train"]))[: self.overfit]
                tiny = self.splits["train"].subset(np.sort(fixed))
                self.splits["train"] = self.splits["val"] = tiny
            if self.pipeline is not None and self.pipeline.needs_fit:
                train = self.splits["train"].x[:10_000]  # ZCA: fit on (up to) 10k training images
                self.pipeline.fit(train if isinstance(train, torch.Tensor) else torch.from_numpy(np.asarray(train)))

    def _rank(self) -> tuple[int, int]:
        t = self.trainer
        return (t.global_rank, t.world_size) if t is not None else (0, 1)

    def _epoch(self) -> int:
        t = self.trainer
        return t.current_epoch if t is not None else 0

    def train_dataloader(self):
        return self.feed.train_loader()

    def _eval_loader(self, name: str):
        return self.feed.eval_loader(name)

    def val_dataloader(self):
        return self._eval_loader("val")

    def test_dataloader(self):
        self.rewind_test_shifts()
        return [self._eval_loader("test") for _ in self.test_names]

    def rewind_test_shifts(self) -> None:
        """Back to the start of every shifted test set's fixed random draws: the same shifted test set on every
        run, and on a second pass over it (``harness.AdaptBatchNorm``)."""
        for pipe in self.shift_pipelines.values():
            pipe.reset()

    def predict_dataloader(self):
        return self._eval_loader("test")

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        return self.feed.finish(batch, dataloader_idx)

    # ---- resuming ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps to resume exactly: the training position and the augmentation's random state
        (the epoch orders themselves follow from the seed and the epoch)."""
        state: dict[str, Any] = {"position": self.position.state()}
        if self.pipeline is not None:
            state["augment_rng"] = self.pipeline.rng_state()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "position" in state_dict:
            self.position.resume_from(state_dict["position"])
        if self.pipeline is not None and "augment_rng" in state_dict:
            self.pipeline.load_rng_state(state_dict["augment_rng"])

    def squeeze(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> [-1, 1]; waveforms are already there."""
        return x * 2 - 1 if self.kind == "image" else x

    def unsqueeze(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of ``squeeze``: back to the units the augment ops take."""
        return (x + 1) / 2 if self.kind == "image" else x

