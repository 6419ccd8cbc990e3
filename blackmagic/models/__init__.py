"""Small CNN / PReLU / BatchNorm recipe models and the LightningModule that trains them."""
from .audio_net import AudioNet, LogMel
from .blocks import ConvBlock, Fire
from .classifier import ClassifierModule
from .image_net import SmallImageNet

__all__ = ["AudioNet", "ClassifierModule", "ConvBlock", "Fire", "LogMel", "SmallImageNet"]
