import math

from ..geometry import GeometricOp, linear
from ..op import register
from ..params import RangeParam


@register
class Rotate(GeometricOp):
    """For objects seen at an angle: rotate about the image centre by a per-sample angle in degrees
    (positive = counter-clockwise as displayed), bilinear with zero padding: Kornia's ``rotate``.

    Spec: ``rotate: {degrees: 30, p: 0.5}`` (a scalar ``d`` means ``[-d, d]``)
    """

    name = "rotate"
    params = {"degrees": RangeParam(15.0, low=-360.0, high=360.0, scalar="sym")}

    def inverse(self, p, height, width, m):
        theta = m.where(p["active"], p["degrees"], 0.0) * (math.pi / 180)
        cos, sin = m.cos(theta), m.sin(theta)
        return linear(cos, -sin, sin, cos)
