"""Geometric transforms share one resampling: adjacent geometric ops compose their matrices and the batch is
resampled once (torch: ``grid_sample``, bilinear, zero padding, ``align_corners=True`` as Kornia's
``rotate``; DALI: one ``warp_affine``).

Matrices are kept as six per-sample scalars in pixel coordinates centred on the image centre (x right, y
down), so the same code composes them for torch tensors and for DALI data nodes.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from .draws import TorchDraws
from .op import Op, Params, keep_inactive


class Affine(NamedTuple):
    """``[[a, b, tx], [c, d, ty]]``, each entry one value per sample."""

    a: object
    b: object
    c: object
    d: object
    tx: object
    ty: object

    def then(self, inner: "Affine") -> "Affine":
        """The matrix product ``self @ inner``."""
        p, q = self, inner
        return Affine(p.a * q.a + p.b * q.c, p.a * q.b + p.b * q.d, p.c * q.a + p.d * q.c, p.c * q.b + p.d * q.d,
                      p.a * q.tx + p.b * q.ty + p.tx, p.c * q.tx + p.d * q.ty + p.ty)


def linear(a, b, c, d) -> Affine:
    return Affine(a, b, c, d, 0.0, 0.0)


class GeometricOp(Op):
    """A transform given by ``inverse``: the matrix mapping output pixels to the input pixels they are sampled
    from. It must be the identity for inactive samples; ``m`` is the backend's math (``draws``)."""

    domain = "image"
    geometric = True
    in_place = False  # resampled into a new tensor

    def inverse(self, p: Params, height: int, width: int, m) -> Affine:
        raise NotImplementedError

    def apply(self, x, p, g, out=None):
        return resample(x, [(self, p)])

    def dali(self, x, p, ctx):
        return ctx.warp(x, [(self, p)])


def compose(ops: list[tuple[GeometricOp, Params]], height: int, width: int, m) -> tuple[Affine, object]:
    """The inverse of the ops applied in order (output <- op_n <- ... <- op_1 <- input), and which samples any
    of them touches."""
    inv, active = None, None
    for op, p in ops:
        step = op.inverse(p, height, width, m)
        inv = step if inv is None else inv.then(step)
        active = p["active"] if active is None else active | p["active"]
    return inv, active


def resample(x: torch.Tensor, ops: list[tuple[GeometricOp, Params]]) -> torch.Tensor:
    """Apply the composition of ``ops`` (in order) to ``x`` (B, C, H, W) with a single grid_sample."""
    B, C, H, W = x.shape
    inv, active = compose(ops, H, W, TorchDraws)
    sx, sy = max(W - 1, 1) / 2, max(H - 1, 1) / 2  # pixels per normalised unit
    # In normalised coordinates (align_corners=True) the map is N inv N^-1 with N = diag(1/sx, 1/sy).
    def full(v):  # entries that stayed Python numbers become (B,) tensors, filled on the device (no copy)
        return v if isinstance(v, torch.Tensor) else torch.full((B,), float(v), dtype=x.dtype, device=x.device)

    a, b, tx = full(inv.a), full(inv.b) * (sy / sx), full(inv.tx) / sx
    c, d, ty = full(inv.c) * (sx / sy), full(inv.d), full(inv.ty) / sy
    u = torch.linspace(-1, 1, W, device=x.device, dtype=x.dtype).view(1, 1, W, 1)
    v = torch.linspace(-1, 1, H, device=x.device, dtype=x.dtype).view(1, H, 1, 1)
    col = torch.stack([a, c], 1).view(B, 1, 1, 2)  # how the source moves per output column
    row = torch.stack([b, d], 1).view(B, 1, 1, 2)  # ... per output row
    grid = torch.addcmul(torch.addcmul(torch.stack([tx, ty], 1).view(B, 1, 1, 2), u, col), v, row)  # (B, H, W, 2)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return keep_inactive(active, out, x)
