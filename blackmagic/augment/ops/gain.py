import torch

from ..op import Op, Params, per_sample, register
from ..params import RangeParam


@register
class Gain(Op):
    """For speakers near and far from the microphone: multiply the waveform by a per-sample gain in decibels
    (audiomentations ``Gain``).

    Spec: ``gain: {db: [-12, 12], p: 0.5}`` (a scalar ``g`` means ``[-g, g]``)
    """

    name = "gain"
    domain = "audio"
    params = {"db": RangeParam(6.0, scalar="sym")}

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, T)
        db = torch.where(p["active"], p["db"], 0.0)
        return x.mul_(per_sample(10 ** (db / 20), x))

    def dali(self, x, p, ctx):  # x: (T,)
        from nvidia.dali import math as dmath

        return x * dmath.pow(10.0, ctx.math.where(p["active"], p["db"], 0.0) / 20.0)
