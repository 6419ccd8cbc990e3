from ..geometry import Affine, GeometricOp
from ..op import register
from ..params import ChoiceParam, RangeParam


@register
class Translate(GeometricOp):
    """For objects off centre: shift the image by per-sample offsets (positive x = right, positive y = down), zero fill.

    Spec: ``translate: {x: 2, y: 2, unit: pixels, p: 0.5}`` (scalars mean ``[-v, v]``; ``unit`` is
    ``pixels`` or ``fraction`` of the width / height)
    """

    name = "translate"
    params = {
        "x": RangeParam(0.0, scalar="sym"),
        "y": RangeParam(0.0, scalar="sym"),
        "unit": ChoiceParam("pixels", ("pixels", "fraction")),
    }

    def inverse(self, p, height, width, m):
        sx, sy = (width, height) if self.cfg["unit"] == "fraction" else (1, 1)
        tx = m.where(p["active"], p["x"], 0.0) * sx
        ty = m.where(p["active"], p["y"], 0.0) * sy
        return Affine(1.0, 0.0, 0.0, 1.0, -tx, -ty)
