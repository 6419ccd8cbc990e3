"""The augmentation engine: one spec, executed per sample on any device.

    >>> from blackmagic import augment
    >>> pipe = augment.build([{"rotate": {"degrees": 30}}, {"blur": {"sigma": [0.1, 1.0], "p": 0.3}}], seed=0)
    >>> out = pipe(images)  # (B, C, H, W) uint8 or float -> float32, fresh parameters every call
"""
from . import ops  # noqa: F401  (registers every transform)
from .op import OPS, BuildContext, Op, register
from .params import SpecError
from .pipeline import Pipeline, build
from .spec import load_spec

__all__ = ["OPS", "BuildContext", "Op", "Pipeline", "SpecError", "build", "load_spec", "register"]
