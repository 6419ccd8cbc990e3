"""DALI-fed datamodules: decoding and augmentation inside DALI pipelines (on the GPU when there is one,
on DALI's CPU backend otherwise), the same spec language, the same no-repeat shuffling and sharding."""
from __future__ import annotations

import numpy as np
import torch

from .. import augment
from ..io import check_formats
from .audio_folder import AudioFolderDataModule
from .dali_loader import DaliLoader, ScheduledSource, reader_batches, reader_steps
from .fashion_mnist import FashionMNISTDataModule
from .image_folder import ImageFolderDataModule
from .sampling import EpochSchedule


class DaliMixin:
    """Shared by the DALI datamodules: which device DALI runs on, the compiled spec, and the finishing steps
    (channels first, squeezed to [-1, 1]). Augmentation happens inside the training pipeline only."""

    num_threads: int

    def _dali_init(self, num_threads: int) -> None:
        self.num_threads = num_threads
        self.dali_augment = augment.build(self.augment_spec, backend="dali", seed=self.seed,
                                          sample_rate=self.sample_rate) if self.augment_spec else None

    def device_id(self) -> int | None:
        trainer = self.trainer
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        return (device.index or 0) if device.type == "cuda" else None

    def finish_images(self, x, train: bool, channels: int):
        """(H, W, C) uint8 -> augmented (train only) -> (C, H, W) float in [-1, 1]."""
        from nvidia.dali import fn, types

        if train and self.dali_augment is not None and not self.overfit:
            x = self.dali_augment(x, channels=channels)
        else:
            x = fn.cast(x, dtype=types.FLOAT) * (1 / 255)
        return fn.transpose(x, perm=[2, 0, 1]) * 2.0 - 1.0

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        x, y = batch  # already augmented and squeezed by DALI
        trainer = self.trainer
        if trainer is not None and trainer.testing and dataloader_idx > 0:
            x = self.squeeze(self.shift_pipelines[self.test_shift_names[dataloader_idx - 1]](self.unsqueeze(x)))
        return x, y


class DaliFashionMNISTDataModule(DaliMixin, FashionMNISTDataModule):
    """Fashion-MNIST through DALI: an external source feeds the arrays in this epoch's schedule, DALI moves
    them to the GPU and augments them there.

    Args:
        num_threads: DALI CPU threads.
        **kwargs: see ``FashionMNISTDataModule``.
    """

    def __init__(self, num_threads: int = 2, **kwargs):
        super().__init__(**kwargs)
        self._dali_init(num_threads)

    host_arrays = True  # DALI's external source takes NumPy on the host; DALI moves batches to the GPU

    def load(self):
        splits = super().load()
        for split in splits.values():
            split.x = split.x.numpy().transpose(0, 2, 3, 1).copy()  # (N, H, W, 1)
        return splits

    def _loader(self, name: str, train: bool):
        from nvidia.dali import fn, pipeline_def

        split = self.splits[name]
        size = self.batch_size if train else self.eval_batch_size
        schedule = EpochSchedule(len(split), min(size, len(split)), self.seed, self._rank()[1]) if train else None
        source = ScheduledSource(split.x, split.y.numpy(), schedule, size, self._rank, first_epoch=self._epoch())
        device_id = self.device_id()

        @pipeline_def(batch_size=size + 1, num_threads=self.num_threads, device_id=device_id, seed=self.seed)
        def pipe():
            x, y = fn.external_source(source=source, num_outputs=2, batch=True, layout=["HWC", ""], cycle="raise")
            if device_id is not None:
                x = x.gpu()
            return self.finish_images(x, train, 1), y

        return DaliLoader(pipe(), len(source.batches()))

    def train_dataloader(self):
        return self._loader("train", True)

    def _eval_loader(self, name: str):
        return self._loader(name, False)


class DaliFolderMixin(DaliMixin):
    """A file reader over the scanned split, sharded by rank, reshuffled globally after every epoch.

    DALI's decoders fail on a file of another kind without naming it, so every file's first bytes are checked
    against ``dali_formats`` (as ``io.sniff`` names them) before a reader is built; ``dali_decoder`` and
    ``dali_instead`` word the refusal.
    """

    dali_formats: set[str]
    dali_decoder: str
    dali_instead: str

    def _reader(self, split: str, train: bool):
        from nvidia.dali import fn

        rank, world = self._rank()
        files = [str(f) for f in self.files.files[split]]
        return fn.readers.file(files=files, labels=self.files.labels[split], shard_id=rank, num_shards=world,
                               shuffle_after_epoch=train, random_shuffle=False, pad_last_batch=True,
                               seed=self.seed, name="Reader")

    def _loader(self, split: str, train: bool):
        from nvidia.dali import pipeline_def

        size = self.batch_size if train else self.eval_batch_size
        check_formats(self.files.files[split], self.dali_formats, self.dali_decoder, self.dali_instead)

        @pipeline_def(batch_size=size, num_threads=self.num_threads, device_id=self.device_id(), seed=self.seed)
        def pipe():
            data, label = self._reader(split, train)
            return self.decode_and_augment(data, train), label

        n, (rank, world) = len(self.files.files[split]), self._rank()
        steps = reader_steps(n, size, world, f"{type(self).__name__} {split}")
        return DaliLoader(pipe(), reader_batches(n, size, rank, world), "Reader", steps=steps)

    def setup(self, stage: str | None = None) -> None:
        """Nothing to load up front (the reader streams the files), except the fixed subset of ``overfit``."""
        if self.overfit and self.files.files["val"] is not self.files.files["train"]:
            pick = np.sort(np.random.default_rng(self.seed).permutation(len(self.files.files["train"]))[: self.overfit])
            for key in ("files", "labels"):
                table = getattr(self.files, key)
                table["train"] = table["val"] = [table["train"][i] for i in pick]

    def prepare_data(self) -> None:
        """No cache to fill: DALI decodes on the fly."""

    def train_dataloader(self):
        return self._loader("train", True)

    def _eval_loader(self, name: str):
        return self._loader(name, False)


class DaliImageFolderDataModule(DaliFolderMixin, ImageFolderDataModule):
    """Class folders of images through DALI: file reader -> ``decoders.image`` (on the GPU, "mixed", when there
    is one) -> resize the shorter side and centre-crop -> augment (training) -> (C, H, W) in [-1, 1].

    Args:
        root, size, channels: as for ``ImageFolderDataModule``.
        num_threads: DALI CPU threads.
        **kwargs: see ``FolderDataModule`` and ``AugmentedDataModule``.
    """

    dali_formats = {"JPEG", "PNG", "BMP", "TIFF", "WebP"}  # no GIF: DALI's image decoder has none
    dali_decoder, dali_instead = "DALI's image decoder", ", or use ImageFolderDataModule, which reads GIF"

    def __init__(self, root: str, size: int | list[int] | None = 64, channels: int = 3, num_threads: int = 4,
                 **kwargs):
        super().__init__(root, size=size, channels=channels, **kwargs)
        self._dali_init(num_threads)

    def decode_and_augment(self, data, train: bool):
        from nvidia.dali import fn, types

        gpu = self.device_id() is not None
        image_type = types.RGB if self.channels == 3 else types.GRAY
        x = fn.decoders.image(data, device="mixed" if gpu else "cpu", output_type=image_type)
        h, w = self.size
        x = fn.resize(x, resize_shorter=float(min(h, w)), antialias=True)  # cover, then crop the overhang
        x = fn.crop(x, crop=[h, w], out_of_bounds_policy="pad")
        return self.finish_images(x, train, self.channels)


class DaliAudioFolderDataModule(DaliFolderMixin, AudioFolderDataModule):
    """Class folders of audio through DALI: file reader -> ``decoders.audio`` (mono, resampled) -> padded or
    cropped to ``seconds`` -> augment (training) -> (1, T) float.

    Args:
        root, sample_rate, seconds: as for ``AudioFolderDataModule``.
        num_threads: DALI CPU threads.
        **kwargs: see ``FolderDataModule`` and ``AugmentedDataModule``.
    """

    dali_formats = {"WAV", "FLAC", "OGG", "AIFF"}  # no MP3: the libsndfile inside DALI has none
    dali_decoder, dali_instead = "DALI's audio decoder", ", or use AudioFolderDataModule, which reads MP3"

    def __init__(self, root: str, sample_rate: int = 16_000, seconds: float = 1.0, num_threads: int = 4, **kwargs):
        super().__init__(root, sample_rate=sample_rate, seconds=seconds, **kwargs)
        self._dali_init(num_threads)

    def decode_and_augment(self, data, train: bool):
        from nvidia.dali import fn, types

        wave, _ = fn.decoders.audio(data, sample_rate=float(self.sample_rate), downmix=True, dtype=types.FLOAT)
        length = int(round(self.seconds * self.sample_rate))
        wave = fn.slice(wave, start=0, shape=length, axes=[0], out_of_bounds_policy="pad")
        if self.device_id() is not None:
            wave = wave.gpu()
        if train and self.dali_augment is not None and not self.overfit:
            wave = self.dali_augment(wave)
        return fn.expand_dims(wave, axes=[0])  # (1, T)
