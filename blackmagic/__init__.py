"""blackmagic: a GPU data augmentation engine for images and voice, and a Lightning harness that uses it."""

__version__ = "0.1.0"
