"""Per-sample uniform draws and the little math that turns them into parameters, for either backend.

``Op.draw`` and the combinators are written once against this interface, so the torch backend and the DALI
backend turn the same uniforms into the same parameters by the same formulas: their parameter distributions
agree by construction, and tests check it.
"""
from __future__ import annotations

from typing import Any, Protocol

import torch


class Draws(Protocol):
    """What ``Op.draw`` and the combinators use: per-sample uniforms and the few maths functions that turn them
    into parameters. ``TorchDraws`` implements it on tensors, ``dali.DaliDraws`` on DALI data nodes."""

    def col(self, j: int) -> Any: ...  # (B,) uniforms of column j

    def block(self, j: int, k: int) -> Any: ...  # (B, k) uniforms of columns j .. j+k-1

    def skip(self, j: int) -> "Draws": ...  # the same draws without their first j columns

    @staticmethod
    def floor(x: Any) -> Any: ...

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any: ...

    @staticmethod
    def cos(x: Any) -> Any: ...

    @staticmethod
    def sin(x: Any) -> Any: ...

    @staticmethod
    def clamp_max(x: Any, hi: float) -> Any: ...

    @staticmethod
    def to_float(mask: Any) -> Any: ...


class TorchDraws:
    """Uniforms ``u`` (B, K) in [0, 1) on the batch's device; one column per scalar parameter."""

    def __init__(self, u: torch.Tensor):
        self.u = u

    def col(self, j: int) -> torch.Tensor:  # (B,)
        return self.u[:, j]

    def block(self, j: int, k: int) -> torch.Tensor:  # (B, k)
        return self.u[:, j : j + k]

    def skip(self, j: int) -> "TorchDraws":
        return TorchDraws(self.u[:, j:])

    @staticmethod
    def floor(x):
        return torch.floor(x)

    @staticmethod
    def where(cond, a, b):
        return torch.where(cond, a, b)

    @staticmethod
    def cos(x):
        return torch.cos(x)

    @staticmethod
    def sin(x):
        return torch.sin(x)

    @staticmethod
    def clamp_max(x, hi: float):
        return x.clamp(max=hi)

    @staticmethod
    def to_float(mask):
        return mask.to(torch.float32)


def integers(d: Draws, u, lo: float, hi: float):
    """Uniform whole numbers in [lo, hi] from uniforms in [0, 1), like ``random.randint(lo, hi)``."""
    return d.clamp_max(d.floor(lo + u * (hi - lo + 1)), hi)
