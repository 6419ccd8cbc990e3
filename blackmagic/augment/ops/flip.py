import torch

from ..geometry import GeometricOp, affine
from ..op import register
from ..params import ChoiceParam


@register
class Flip(GeometricOp):
    """Mirror the image left-right (``axis: horizontal``) or top-bottom (``axis: vertical``).

    Spec: ``flip: {axis: horizontal, p: 0.5}``
    """

    name = "flip"
    params = {"axis": ChoiceParam("horizontal", ("horizontal", "vertical"))}
    default_p = 0.5

    def inverse(self, p, height, width):
        sign = torch.where(p["active"], -1.0, 1.0)
        one, zero = torch.ones_like(sign), torch.zeros_like(sign)
        if self.cfg["axis"] == "horizontal":
            return affine(sign, zero, zero, one, zero, zero)
        return affine(one, zero, zero, sign, zero, zero)
