"""LightningCLI wiring: the ``blackmagic`` subcommands, run folders, and fit-then-test."""
from .adapt_bn import AdaptBatchNorm

__all__ = ["AdaptBatchNorm"]
