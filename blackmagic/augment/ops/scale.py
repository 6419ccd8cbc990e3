from ..geometry import GeometricOp, linear
from ..op import register
from ..params import RangeParam


@register
class Scale(GeometricOp):
    """For objects nearer or farther: zoom about the image centre by a per-sample factor (> 1 enlarges), zero fill.

    Spec: ``scale: {factor: 0.1, p: 0.5}`` (a scalar ``x`` means ``[1 - x, 1 + x]``)
    """

    name = "scale"
    params = {"factor": RangeParam(0.1, low=0.0, scalar="factor")}

    def validate(self):
        if self.cfg["factor"].lo <= 0:
            raise self.error("factor", f"zoom factors must be > 0, got a range from {self.cfg['factor'].lo:g}")

    def inverse(self, p, height, width, m):
        s = 1.0 / m.where(p["active"], p["factor"], 1.0)
        return linear(s, 0.0, 0.0, s)
