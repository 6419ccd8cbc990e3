"""LightningDataModules that reshuffle every epoch and augment on the device."""
from .audio_folder import AudioFolderDataModule
from .base import AugmentedDataModule, Split
from .dali_modules import DaliAudioFolderDataModule, DaliFashionMNISTDataModule, DaliImageFolderDataModule
from .fashion_mnist import FashionMNISTDataModule
from .image_folder import ImageFolderDataModule
from .spoken_keywords import SpokenKeywordsDataModule

__all__ = ["AudioFolderDataModule", "AugmentedDataModule", "DaliAudioFolderDataModule", "DaliFashionMNISTDataModule",
           "DaliImageFolderDataModule", "FashionMNISTDataModule", "ImageFolderDataModule", "SpokenKeywordsDataModule",
           "Split"]
