import torch

from ..op import Op, Params, per_sample, register
from ..params import RangeParam
from ..random16 import bernoulli


@register
class PixelDropout(Op):
    """For dead pixels, dust and small occlusions: zero each pixel (all its channels together) with a per-sample
    probability ``rate``.

    Spec: ``pixel_dropout: {rate: [0.0, 0.05], p: 0.5}``
    """

    name = "pixel_dropout"
    domain = "image"
    params = {"rate": RangeParam((0.0, 0.05), low=0.0, high=1.0)}

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, H, W)
        rate = torch.where(p["active"], p["rate"], 0.0)
        shape = (x.shape[0], 1, *x.shape[2:])  # (B, 1, H, W): one draw per pixel
        return x.masked_fill_(bernoulli(shape, per_sample(rate, x), g, x.device), 0.0)

    def dali(self, x, p, ctx):  # x: (H, W, C)
        from nvidia.dali import fn

        rate = ctx.math.where(p["active"], p["rate"], 0.0)
        u = fn.random.uniform(x[:, :, 0:1], range=[0.0, 1.0], **ctx.seed())  # (H, W, 1): one draw per pixel
        return x * ctx.math.to_float(u >= rate)
