"""Image classification from class folders of JPEG, PNG, BMP, WebP, GIF or TIFF files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision.transforms.v2 import functional as TF

from ..io import IMAGE_SUFFIXES, DataError, read_image
from .dali_feeds import DaliImageFileFeed
from .fashion_mnist import FashionMNISTDataModule
from .feeds import TorchFeed
from .folder_module import FolderDataModule


class ImageFolderDataModule(FolderDataModule):
    """Class sub-folders of images (greyscale, RGB, RGBA and palette images handled; 16-bit and float [0, 1]
    images scaled to 0..255), decoded once to uint8.

    Args:
        root: ``root/CLASS/*.jpg`` or ``root/{train,val,test}/CLASS/*.jpg``; ``null`` with ``test_root`` to test only.
        size: output size ``S`` or ``[H, W]``: resize the shorter side, then centre-crop. ``None`` keeps the
            files' own size, which must then be the same for every image.
        channels: 3 (RGB; greyscale is repeated) or 1 (greyscale; colour is converted to luma).
        **kwargs: see ``FolderDataModule`` and ``AugmentedDataModule``; ``feed: dali`` decodes the files in DALI
            on every epoch instead of once into the cache (no GIF).
    """

    suffixes = IMAGE_SUFFIXES
    default_shifts = FashionMNISTDataModule.default_shifts
    feeds = {"torch": TorchFeed, "dali": DaliImageFileFeed}

    def __init__(self, root: str | None = None, size: int | list[int] | None = 64, channels: int = 3, **kwargs):
        if channels not in (1, 3):
            raise ValueError(f"ImageFolderDataModule: channels must be 1 or 3, got {channels}")
        self.size = None if size is None else ([size, size] if isinstance(size, int) else list(size))
        self._resize = size is not None
        self._channels = channels
        super().__init__(root, **kwargs)
        if self.size is None:
            first = self.files.files["train" if self.root is not None else "test"][0]
            self.size = list(read_image(first).shape[1:])

    @property
    def channels(self) -> int:
        return self._channels

    def sample_shape(self):
        return (self._channels, *self.size)

    def options(self):
        return {**super().options(), "fit": "resize-shorter-then-center-crop"}

    def decode(self, path: Path) -> np.ndarray:
        image = read_image(path)  # (C, H, W) uint8, C = 1 or 3
        if image.shape[0] != self._channels:
            image = image.expand(3, -1, -1) if self._channels == 3 else TF.rgb_to_grayscale(image)
        h, w = image.shape[1:]
        if [h, w] != self.size:
            if not self._resize:
                raise DataError(f"{path}: {w}x{h} pixels where the other images are {self.size[1]}x{self.size[0]}; "
                                "set size: to resize them all")
            scale = max(self.size[0] / h, self.size[1] / w)  # cover the target, then crop the overhang
            image = TF.resize(image, [max(self.size[0], round(h * scale)), max(self.size[1], round(w * scale))],
                              antialias=True)
            image = TF.center_crop(image, self.size)
        return np.asarray(image.contiguous())
