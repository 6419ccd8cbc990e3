"""The DALI-fed datamodules by name: each is its plain datamodule holding a DALI feed (``dali_feeds``), the
same as ``feed: dali`` on it, with the feed's ``num_threads`` as an argument."""
from __future__ import annotations

from .audio_folder import AudioFolderDataModule
from .dali_feeds import DaliArrayFeed, DaliAudioFileFeed, DaliImageFileFeed
from .fashion_mnist import FashionMNISTDataModule
from .image_folder import ImageFolderDataModule


class DaliFashionMNISTDataModule(FashionMNISTDataModule):
    """``FashionMNISTDataModule`` fed by ``DaliArrayFeed``: an external source feeds the arrays in this epoch's
    schedule, DALI moves them to the GPU and augments them there.

    Args:
        num_threads: DALI CPU threads.
        **kwargs: see ``FashionMNISTDataModule``.
    """

    def __init__(self, num_threads: int = 2, **kwargs):
        super().__init__(feed=DaliArrayFeed(num_threads), **kwargs)


class DaliImageFolderDataModule(ImageFolderDataModule):
    """``ImageFolderDataModule`` fed by ``DaliImageFileFeed``: file reader -> ``decoders.image`` (on the GPU,
    "mixed", when there is one) -> resize the shorter side and centre-crop -> augment (training) -> (C, H, W)
    in [-1, 1].

    Args:
        root, size, channels: as for ``ImageFolderDataModule``.
        num_threads: DALI CPU threads.
        **kwargs: see ``FolderDataModule`` and ``AugmentedDataModule``.
    """

    def __init__(self, root: str, size: int | list[int] | None = 64, channels: int = 3, num_threads: int = 4,
                 **kwargs):
        super().__init__(root, size=size, channels=channels, feed=DaliImageFileFeed(num_threads), **kwargs)


class DaliAudioFolderDataModule(AudioFolderDataModule):
    """``AudioFolderDataModule`` fed by ``DaliAudioFileFeed``: file reader -> ``decoders.audio`` (mono,
    resampled) -> padded or cropped to ``seconds`` -> augment (training) -> (1, T) float.

    Args:
        root, sample_rate, seconds: as for ``AudioFolderDataModule``.
        num_threads: DALI CPU threads.
        **kwargs: see ``FolderDataModule`` and ``AugmentedDataModule``.
    """

    def __init__(self, root: str, sample_rate: int = 16_000, seconds: float = 1.0, num_threads: int = 4, **kwargs):
        super().__init__(root, sample_rate=sample_rate, seconds=seconds, feed=DaliAudioFileFeed(num_threads),
                         **kwargs)
