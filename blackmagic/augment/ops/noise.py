import torch

from ..op import Op, Params, per_sample, register
from ..params import RangeParam
from ..random16 import standard_normal


@register
class Noise(Op):
    """For sensor noise and grain: additive Gaussian noise with a per-sample standard deviation, in [0, 1]
    pixel units.

    Spec: ``noise: {std: [0.0, 0.08], p: 0.5}``

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"noise": {"std": 0.1}}], seed=0)
        >>> pipe(torch.zeros(2, 1, 4, 4)).std().item() > 0
        True
    """

    name = "noise"
    domain = "image"
    params = {"std": RangeParam((0.0, 0.05), low=0.0)}

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, H, W)
        std = torch.where(p["active"], p["std"], 0.0)
        n = standard_normal(x.shape, g, x.device, x.dtype)
        return x.addcmul_(n, per_sample(std, x))

    def dali(self, x, p, ctx):  # x: (H, W, C)
        from nvidia.dali import fn

        return fn.noise.gaussian(x, stddev=ctx.math.where(p["active"], p["std"], 0.0), **ctx.seed())
