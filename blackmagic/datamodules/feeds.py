"""Feeds: how a datamodule's data reaches the model. A datamodule finds, loads and splits its data; the feed
it holds (``feed:``, composition rather than a mixin) compiles the augment spec, gives the train and eval
loaders and finishes every batch after the transfer to the device.

``TorchFeed``, the default: in-memory batches in the epoch schedule, augmented on the device by the torch
pipeline. The DALI feeds (``dali_feeds``) decode and augment inside DALI pipelines instead: where one trains,
no torch augment pipeline is built (the shifted test sets stay torch pipelines).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import augment
from ..units import int16_to_float, to_unit_float
from .batches import ArrayBatches, BatchLoader
from .sampling import EpochSchedule


class Feed:
    """What a datamodule holds to feed the model; bound to one datamodule (``bind``).

    Attributes:
        name: what ``feed:`` calls it.
        host_arrays: in-memory splits stay in host memory (the feed moves its batches itself).
        streams_files: the feed decodes the split's files on the fly: no decode cache, no splits loaded.
    """

    name = ""
    host_arrays = False
    streams_files = False
    dm = None

    def bind(self, dm) -> augment.Pipeline | None:
        """Hold ``dm`` and compile its augment spec; return the torch pipeline the datamodule applies to
        training batches, ``None`` where the feed augments them itself."""
        if self.dm is not None and self.dm is not dm:
            raise ValueError(f"{type(self).__name__}: already feeds a {type(self.dm).__name__}; give each "
                             "datamodule its own feed")
        self.dm = dm
        return None

    def loaded(self, splits: dict) -> dict:
        """The splits as the datamodule loaded them, in the layout this feed reads."""
        return splits

    def train_loader(self):
        raise NotImplementedError

    def eval_loader(self, name: str):
        raise NotImplementedError

    def finish(self, batch, dataloader_idx: int):
        """A batch on its device -> what the model takes (``on_after_batch_transfer``)."""
        raise NotImplementedError

    def test_shift(self, dataloader_idx: int) -> augment.Pipeline | None:
        """The shift of this test dataloader while testing (index 0 is the clean test set), else ``None``."""
        dm = self.dm
        if dm.trainer is not None and dm.trainer.testing and dataloader_idx > 0:
            return dm.shift_pipelines[dm.test_shift_names[dataloader_idx - 1]]
        return None


class TorchFeed(Feed):
    """In-memory splits in batches of the epoch schedule (no minibatch repeated, sharded by rank), augmented
    on the device after the transfer while training only, squeezed to [-1, 1]."""

    name = "torch"

    def bind(self, dm) -> augment.Pipeline | None:
        super().bind(dm)
        return dm._build(dm.augment_spec, "augment")

    def train_loader(self):
        dm = self.dm
        split = dm.splits["train"]
        schedule = EpochSchedule(len(split), min(dm.batch_size, len(split)), dm.seed, dm._rank()[1])
        return BatchLoader(ArrayBatches(split.x, split.y, dm.batch_size, schedule, dm._epoch, dm._rank,
                                        position=dm.position))

    def eval_loader(self, name: str):
        dm = self.dm
        split = dm.splits[name]
        return BatchLoader(ArrayBatches(split.x, split.y, dm.eval_batch_size, None, rank=dm._rank))

    def finish(self, batch, dataloader_idx: int):
        dm = self.dm
        x, y = batch
        if x.dtype == torch.int16:  # stored audio
            x = int16_to_float(x)
        training = dm.trainer is not None and dm.trainer.training
        if training:
            dm.position.count(dm._epoch())
        pipe = dm.pipeline if training and not dm.overfit else self.test_shift(dataloader_idx)
        if pipe is not None and pipe.mixes_batch:  # mixup / cutmix: the model trains on the mixed soft targets
            x, y = pipe(x, targets=F.one_hot(y, dm.num_classes).float())
        elif pipe is not None:
            x = pipe(x)
        return dm.squeeze(to_unit_float(x, copy=False)), y
