import torch

from ..op import Op, Params, per_sample, register


@register
class Polarity(Op):
    """Invert the waveform (x -> -x) per sample, as audiomentations ``PolarityInversion``: microphones and
    recording chains differ in polarity, which a model of raw waveforms should not care about.

    Spec: ``polarity: {p: 0.5}`` (on at p = 1 every sample is inverted, so the default is 0.5)

    Example:
        >>> from blackmagic import augment
        >>> augment.build([{"polarity": {"p": 1.0}}], seed=0)(torch.tensor([[[0.5, -0.25]]]))
        tensor([[[-0.5000,  0.2500]]])
    """

    name = "polarity"
    domain = "audio"
    default_p = 0.5
    params = {}

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, T)
        return x.mul_(per_sample(torch.where(p["active"], -1.0, 1.0), x))

    def dali(self, x, p, ctx):  # x: (T,)
        return x * ctx.math.where(p["active"], -1.0, 1.0)
