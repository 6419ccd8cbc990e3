"""Geometric transforms share one resampling: adjacent geometric ops compose their matrices and the batch
is resampled once with ``affine_grid`` + ``grid_sample`` (bilinear, zero padding, ``align_corners=True``,
as Kornia's ``rotate``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .op import Op, Params, keep_inactive


class GeometricOp(Op):
    """A transform expressed as a per-sample 3x3 matrix in pixel coordinates centred on the image centre
    (x right, y down). ``inverse`` maps output pixels to the input pixels they are sampled from and must be
    the identity for inactive samples."""

    domain = "image"
    geometric = True

    def inverse(self, p: Params, height: int, width: int) -> torch.Tensor:  # (B, 3, 3)
        raise NotImplementedError

    def apply(self, x, p, g):
        return resample(x, [(self, p)])


def affine(a, b, c, d, tx, ty) -> torch.Tensor:
    """Stack per-sample (B,) entries into (B, 3, 3) matrices [[a, b, tx], [c, d, ty], [0, 0, 1]]."""
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack([a, b, tx, c, d, ty, zero, zero, one], dim=1).view(-1, 3, 3)


def resample(x: torch.Tensor, ops: list[tuple[GeometricOp, Params]]) -> torch.Tensor:
    """Apply the composition of ``ops`` (in order) to ``x`` (B, C, H, W) with a single grid_sample."""
    B, C, H, W = x.shape
    inv, active = None, None
    for op, p in ops:  # output <- op_n <- ... <- op_1 <- input, so inverses compose left to right
        m = op.inverse(p, H, W)
        inv = m if inv is None else inv @ m
        active = p["active"] if active is None else active | p["active"]
    sx, sy = max(W - 1, 1) / 2, max(H - 1, 1) / 2  # pixels per normalised unit
    # In normalised coordinates (align_corners=True) the map is N inv N^-1 with N = diag(1/sx, 1/sy, 1).
    a, b, c = inv[:, 0, 0], inv[:, 0, 1] * (sy / sx), inv[:, 0, 2] / sx
    d, e, f = inv[:, 1, 0] * (sx / sy), inv[:, 1, 1], inv[:, 1, 2] / sy
    u = torch.linspace(-1, 1, W, device=x.device, dtype=x.dtype).view(1, 1, W, 1)
    v = torch.linspace(-1, 1, H, device=x.device, dtype=x.dtype).view(1, H, 1, 1)
    col = torch.stack([a, d], 1).view(B, 1, 1, 2)  # how the source moves per output column
    row = torch.stack([b, e], 1).view(B, 1, 1, 2)  # ... per output row
    grid = torch.addcmul(torch.addcmul(torch.stack([c, f], 1).view(B, 1, 1, 2), u, col), v, row)  # (B, H, W, 2)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return keep_inactive(active, out, x)
