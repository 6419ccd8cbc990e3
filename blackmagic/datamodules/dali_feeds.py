"""DALI feeds: decoding and augmentation inside DALI pipelines (on the GPU when there is one, on DALI's CPU
backend otherwise), the same spec language, the same no-repeat shuffling and sharding. The spec is compiled
for DALI only: no torch augment pipeline is built, so nothing it needs (a ZCA fit, noise recordings) is read."""
from __future__ import annotations

import numpy as np
import torch

from .. import augment
from ..io import check_formats
from .dali_loader import DaliLoader, ScheduledSource, reader_batches, reader_steps
from .feeds import Feed
from .sampling import EpochSchedule


class DaliFeed(Feed):
    """What the DALI feeds share: where DALI runs, the compiled spec, the finishing steps of images
    (channels first, squeezed to [-1, 1]). Augmentation happens inside the training pipeline only.

    Args:
        num_threads: DALI CPU threads.
    """

    name = "dali"

    def __init__(self, num_threads: int = 4):
        self.num_threads = num_threads
        self.augment = None

    def bind(self, dm) -> None:
        super().bind(dm)
        if dm.augment_spec:
            try:
                self.augment = augment.build(dm.augment_spec, backend="dali", seed=dm.seed, sample_rate=dm.sample_rate)
            except augment.SpecError as e:
                raise augment.SpecError(f"{type(dm).__name__}.augment: {e}") from None
        return None  # DALI augments: the datamodule applies no torch pipeline

    def device_id(self) -> int | None:
        trainer = self.dm.trainer
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        return (device.index or 0) if device.type == "cuda" else None

    def augments(self, train: bool) -> bool:
        return train and self.augment is not None and not self.dm.overfit

    def finish_images(self, x, train: bool, channels: int):
        """(H, W, C) uint8 -> augmented (train only) -> (C, H, W) float in [-1, 1]."""
        from nvidia.dali import fn, types

        x = self.augment(x, channels=channels) if self.augments(train) else fn.cast(x, dtype=types.FLOAT) * (1 / 255)
        return fn.transpose(x, perm=[2, 0, 1]) * 2.0 - 1.0

    def train_loader(self):
        return self.loader("train", True)

    def eval_loader(self, name: str):
        return self.loader(name, False)

    def loader(self, split: str, train: bool) -> DaliLoader:
        raise NotImplementedError

    def finish(self, batch, dataloader_idx: int):
        x, y = batch  # already augmented and squeezed by DALI
        shift = self.test_shift(dataloader_idx)
        return (x if shift is None else self.dm.squeeze(shift(self.dm.unsqueeze(x)))), y


class DaliArrayFeed(DaliFeed):
    """In-memory images through DALI: an external source feeds the arrays in this epoch's schedule, DALI moves
    them to the GPU and augments them there."""

    host_arrays = True  # DALI's external source takes NumPy on the host; DALI moves batches to the GPU

    def __init__(self, num_threads: int = 2):
        super().__init__(num_threads)

    def bind(self, dm) -> None:
        if dm.kind != "image":
            raise ValueError(f"{type(self).__name__}: feeds images; {type(dm).__name__} gives {dm.kind}")
        return super().bind(dm)

    def loaded(self, splits: dict) -> dict:
        for split in splits.values():
            split.x = np.ascontiguousarray(np.asarray(split.x).transpose(0, 2, 3, 1))  # (N, H, W, C)
        return splits

    def loader(self, name: str, train: bool) -> DaliLoader:
        from nvidia.dali import fn, pipeline_def

        dm = self.dm
        split = dm.splits[name]
        size = dm.batch_size if train else dm.eval_batch_size
        schedule = EpochSchedule(len(split), min(size, len(split)), dm.seed, dm._rank()[1]) if train else None
        source = ScheduledSource(split.x, split.y.numpy(), schedule, size, dm._rank, first_epoch=dm._epoch())
        device_id = self.device_id()

        @pipeline_def(batch_size=size + 1, num_threads=self.num_threads, device_id=device_id, seed=dm.seed)
        def pipe():
            x, y = fn.external_source(source=source, num_outputs=2, batch=True, layout=["HWC", ""], cycle="raise")
            if device_id is not None:
                x = x.gpu()
            return self.finish_images(x, train, dm.channels), y

        return DaliLoader(pipe(), len(source.batches()))


class DaliFileFeed(DaliFeed):
    """A file reader over the scanned split, sharded by rank, reshuffled globally after every epoch; a
    subclass decodes (``decode``).

    DALI's decoders fail on a file of another kind without naming it, so every file's first bytes are checked
    against ``formats`` (as ``io.sniff`` names them) before a reader is built; ``decoder`` and ``instead``
    word the refusal.
    """

    streams_files = True
    formats: set[str]
    decoder: str
    instead: str

    def decode(self, data, train: bool):
        raise NotImplementedError

    def reader(self, split: str, train: bool):
        from nvidia.dali import fn

        dm = self.dm
        rank, world = dm._rank()
        files = [str(f) for f in dm.files.files[split]]
        return fn.readers.file(files=files, labels=dm.files.labels[split], shard_id=rank, num_shards=world,
                               shuffle_after_epoch=train, random_shuffle=False, pad_last_batch=True,
                               seed=dm.seed, name="Reader")

    def loader(self, split: str, train: bool) -> DaliLoader:
        from nvidia.dali import pipeline_def

        dm = self.dm
        size = dm.batch_size if train else dm.eval_batch_size
        check_formats(dm.files.files[split], self.formats, self.decoder, self.instead)

        @pipeline_def(batch_size=size, num_threads=self.num_threads, device_id=self.device_id(), seed=dm.seed)
        def pipe():
            data, label = self.reader(split, train)
            return self.decode(data, train), label

        n, (rank, world) = len(dm.files.files[split]), dm._rank()
        steps = reader_steps(n, size, world, f"{type(dm).__name__} {split}")
        return DaliLoader(pipe(), reader_batches(n, size, rank, world), "Reader", steps=steps)


class DaliImageFileFeed(DaliFileFeed):
    """Image files: ``decoders.image`` (on the GPU, "mixed", when there is one) -> resize the shorter side and
    centre-crop to the datamodule's ``size`` -> augment (training) -> (C, H, W) in [-1, 1]."""

    formats = {"JPEG", "PNG", "BMP", "TIFF", "WebP"}  # no GIF: DALI's image decoder has none
    decoder, instead = "DALI's image decoder", ", or use ImageFolderDataModule, which reads GIF"

    def decode(self, data, train: bool):
        from nvidia.dali import fn, types

        dm = self.dm
        gpu = self.device_id() is not None
        x = fn.decoders.image(data, device="mixed" if gpu else "cpu",
                              output_type=types.RGB if dm.channels == 3 else types.GRAY)
        h, w = dm.size
        x = fn.resize(x, resize_shorter=float(min(h, w)), antialias=True)  # cover, then crop the overhang
        x = fn.crop(x, crop=[h, w], out_of_bounds_policy="pad")
        return self.finish_images(x, train, dm.channels)


class DaliAudioFileFeed(DaliFileFeed):
    """Audio files: ``decoders.audio`` (mono, resampled to the datamodule's rate) -> padded or cropped to its
    ``seconds`` -> augment (training) -> (1, T) float."""

    formats = {"WAV", "FLAC", "OGG", "AIFF"}  # no MP3: the libsndfile inside DALI has none
    decoder, instead = "DALI's audio decoder", ", or use AudioFolderDataModule, which reads MP3"

    def decode(self, data, train: bool):
        from nvidia.dali import fn, types

        dm = self.dm
        wave, _ = fn.decoders.audio(data, sample_rate=float(dm.sample_rate), downmix=True, dtype=types.FLOAT)
        length = int(round(dm.seconds * dm.sample_rate))
        wave = fn.slice(wave, start=0, shape=length, axes=[0], out_of_bounds_policy="pad")
        if self.device_id() is not None:
            wave = wave.gpu()
        if self.augments(train):
            wave = self.augment(wave)
        return fn.expand_dims(wave, axes=[0])  # (1, T)
