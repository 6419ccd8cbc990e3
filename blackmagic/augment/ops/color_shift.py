import math

import torch

from ..draws import TorchDraws
from ..op import DeviceConstants, Op, Params, keep_inactive, per_sample, register
from ..params import RangeParam

# RGB <-> YIQ (NTSC). Saturation s scales and hue h rotates the chroma plane (I, Q), so the colour shift is one
# per-sample 3x3 matrix plus an offset. Written out, YIQ^-1 . rot(s, h) . YIQ = A + s cos(h) B + s sin(h) C.
_FWD = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64)
_INV = torch.linalg.inv(_FWD)
_A = torch.outer(_INV[:, 0], _FWD[0])
_B = torch.outer(_INV[:, 1], _FWD[1]) + torch.outer(_INV[:, 2], _FWD[2])
_C = torch.outer(_INV[:, 2], _FWD[1]) - torch.outer(_INV[:, 1], _FWD[2])
CHROMA = DeviceConstants(A=_A, B=_B, C=_C)


@register
class ColorShift(Op):
    """For lighting and cameras that differ: brightness, contrast, saturation, hue and per-channel shift, fused
    into one affine colour map.

    Per sample: ``y = b * (0.5 + c * (x - 0.5))`` (contrast about mid-grey, then brightness, as DALI's
    ``brightness_contrast``), then saturation ``s`` and hue ``h`` (fraction of a full turn) in YIQ space, then
    an additive per-channel ``shift``; the result is clamped to [0, 1]. Greyscale (C = 1) images get brightness,
    contrast and shift only.

    Spec: ``color_shift: {brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05, shift: 0.0, p: 0.8}``
    (scalars mean ``[1 - x, 1 + x]`` for the factors and ``[-x, x]`` for hue and shift).
    """

    name = "color_shift"
    domain = "image"
    params = {
        "brightness": RangeParam(0.0, low=0.0, scalar="factor"),
        "contrast": RangeParam(0.0, low=0.0, scalar="factor"),
        "saturation": RangeParam(0.0, low=0.0, scalar="factor"),
        "hue": RangeParam(0.0, low=-0.5, high=0.5, scalar="sym"),
        "shift": RangeParam(0.0, low=-1.0, high=1.0, scalar="sym", columns=3),
    }

    @staticmethod
    def affine(p, m):
        """Per-sample gain, offset and the chroma terms ``s cos(h)``, ``s sin(h)``, for either backend."""
        b, c, s = p["brightness"], p["contrast"], p["saturation"]
        turn = p["hue"] * (2 * math.pi)
        return b * c, 0.5 * b * (1.0 - c), s * m.cos(turn), s * m.sin(turn)

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, H, W)
        gain, offset, cs, sn = self.affine(p, TorchDraws)  # (B,) each
        shift = p["shift"]  # (B, 3)
        B, C = x.shape[:2]
        if C == 1:
            out = x * per_sample(gain, x) + per_sample(offset + shift[:, 0], x)
        else:
            k = CHROMA.get("A", x), CHROMA.get("B", x), CHROMA.get("C", x)
            m = (k[0] + cs[:, None, None] * k[1] + sn[:, None, None] * k[2]) * gain[:, None, None]  # (B, 3, 3)
            bias = (offset[:, None] + shift)[:, :, None]  # (B, 3, 1)
            out = torch.baddbmm(bias, m, x.reshape(B, 3, -1)).view_as(x)
        return keep_inactive(p["active"], out.clamp_(0.0, 1.0), x)

    def dali(self, x, p, ctx):  # x: (H, W, C)
        from nvidia.dali import fn
        from nvidia.dali import math as dmath

        gain, offset, cs, sn = self.affine(p, ctx.math)
        shift = p["shift"]  # (3,) per sample
        if ctx.channels == 1:
            y = x * gain + (offset + shift[0])
        else:
            entries = [gain * (float(_A[i, j]) + cs * float(_B[i, j]) + sn * float(_C[i, j])) for i in range(3) for j in range(3)]
            y = fn.coord_transform(x, M=fn.reshape(fn.stack(*entries), shape=[3, 3]), T=offset + shift)
        return ctx.keep_inactive(p["active"], dmath.clamp(y, 0.0, 1.0), x)
