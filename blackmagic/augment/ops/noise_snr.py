import torch

from ..audio import rms
from ..op import Op, Params, per_sample, register
from ..params import RangeParam
from ..random16 import standard_normal


@register
class NoiseSNR(Op):
    """Add Gaussian noise at a per-sample signal-to-noise ratio in dB (audiomentations ``AddGaussianSNR``:
    the noise std is the clip's RMS divided by ``10 ** (snr / 20)``).

    Spec: ``noise_snr: {snr_db: [10, 40], p: 0.3}``
    """

    name = "noise_snr"
    domain = "audio"
    params = {"snr_db": RangeParam((10.0, 40.0))}

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, T)
        std = rms(x) / 10 ** (p["snr_db"] / 20)
        std = torch.where(p["active"], std, 0.0)
        n = standard_normal(x.shape, g, x.device, x.dtype)
        return x.addcmul_(n, per_sample(std, x))

    def dali(self, x, p, ctx):  # x: (T,)
        from nvidia.dali import fn
        from nvidia.dali import math as dmath

        std = fn.reductions.rms(x) / dmath.pow(10.0, p["snr_db"] / 20.0)
        return fn.noise.gaussian(x, stddev=ctx.math.where(p["active"], std, 0.0), **ctx.seed())
