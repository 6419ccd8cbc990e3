import torch

from ..geometry import GeometricOp, affine
from ..op import register
from ..params import RangeParam


@register
class Scale(GeometricOp):
    """Zoom about the image centre by a per-sample factor (> 1 enlarges), zero fill.

    Spec: ``scale: {factor: 0.1, p: 0.5}`` (a scalar ``x`` means ``[1 - x, 1 + x]``)
    """

    name = "scale"
    params = {"factor": RangeParam(0.1, low=0.0, scalar="factor")}

    def validate(self):
        if self.cfg["factor"].lo <= 0:
            raise self.error("factor", f"zoom factors must be > 0, got a range from {self.cfg['factor'].lo:g}")

    def inverse(self, p, height, width):
        s = 1.0 / torch.where(p["active"], p["factor"], 1.0)
        zero = torch.zeros_like(s)
        return affine(s, zero, zero, s, zero, zero)
