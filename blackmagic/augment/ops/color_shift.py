import math

import torch

from ..op import DeviceConstants, Op, keep_inactive, per_sample, register
from ..params import RangeParam

# RGB <-> YIQ (NTSC). Saturation scales and hue rotates the chroma plane (I, Q), which makes the whole
# colour shift one per-sample 3x3 matrix plus an offset: a single batched matmul per call.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=torch.float64
)
YIQ = DeviceConstants(fwd=_RGB_TO_YIQ, inv=torch.linalg.inv(_RGB_TO_YIQ))


@register
class ColorShift(Op):
    """Brightness, contrast, saturation, hue and per-channel shift, fused into one affine colour map.

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

    def apply(self, x, p, g):  # x: (B, C, H, W)
        a = p["active"]
        b, c, shift = p["brightness"], p["contrast"], p["shift"]  # (B,), (B,), (B, 3)
        gain = b * c
        offset = 0.5 * b * (1.0 - c)
        B, C = x.shape[:2]
        if C == 1:
            out = x * per_sample(gain, x) + per_sample(offset + shift[:, 0], x)
        else:
            m = self._chroma(p["saturation"], p["hue"]) * gain[:, None, None]  # (B, 3, 3)
            bias = (offset[:, None] + shift)[:, :, None]  # (B, 3, 1)
            out = torch.baddbmm(bias, m, x.reshape(B, 3, -1)).view_as(x)
        return keep_inactive(a, out.clamp_(0.0, 1.0), x)

    @staticmethod
    def _chroma(s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Per-sample RGB matrix that scales chroma by ``s`` and rotates it by ``h`` turns: (B, 3, 3)."""
        theta = h * (2 * math.pi)
        cos, sin = s * torch.cos(theta), s * torch.sin(theta)
        one, zero = torch.ones_like(s), torch.zeros_like(s)
        yiq = torch.stack([one, zero, zero, zero, cos, -sin, zero, sin, cos], dim=1).view(-1, 3, 3)
        return YIQ.get("inv", s) @ yiq @ YIQ.get("fwd", s)
