from ..geometry import GeometricOp, linear
from ..op import register
from ..params import ChoiceParam


@register
class Flip(GeometricOp):
    """For classes a mirror image does not change: mirror the image left-right (``axis: horizontal``) or
    top-bottom (``axis: vertical``).

    Spec: ``flip: {axis: horizontal, p: 0.5}``
    """

    name = "flip"
    params = {"axis": ChoiceParam("horizontal", ("horizontal", "vertical"))}
    default_p = 0.5

    def inverse(self, p, height, width, m):
        sign = m.where(p["active"], -1.0, 1.0)
        return linear(sign, 0.0, 0.0, 1.0) if self.cfg["axis"] == "horizontal" else linear(1.0, 0.0, 0.0, sign)
