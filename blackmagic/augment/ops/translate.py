import torch

from ..geometry import GeometricOp, affine
from ..op import register
from ..params import ChoiceParam, RangeParam


@register
class Translate(GeometricOp):
    """Shift the image by per-sample offsets (positive x = right, positive y = down), zero fill.

    Spec: ``translate: {x: 2, y: 2, unit: pixels, p: 0.5}`` (scalars mean ``[-v, v]``; ``unit`` is
    ``pixels`` or ``fraction`` of the width / height)
    """

    name = "translate"
    params = {
        "x": RangeParam(0.0, scalar="sym"),
        "y": RangeParam(0.0, scalar="sym"),
        "unit": ChoiceParam("pixels", ("pixels", "fraction")),
    }

    def inverse(self, p, height, width):
        a = p["active"]
        tx = torch.where(a, p["x"], 0.0)
        ty = torch.where(a, p["y"], 0.0)
        if self.cfg["unit"] == "fraction":
            tx, ty = tx * width, ty * height
        one, zero = torch.ones_like(tx), torch.zeros_like(tx)
        return affine(one, zero, zero, one, -tx, -ty)
