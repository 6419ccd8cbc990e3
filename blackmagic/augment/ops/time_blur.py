"""Smearing of a spectrogram (B, C, F, T) along time: ``time_blur``."""
import torch
import torch.nn.functional as F

from .. import gaussian
from ..op import Op, Params, register
from ..params import NumberParam, RangeParam


@register
class TimeBlur(Op):
    """Bursts and onsets smeared over a few frames, as a frame-based vocoder (parametric speech synthesis), a
    low-rate codec or a short echo leaves them: each frequency bin blurred along time by a Gaussian of per-sample
    ``sigma`` (frames), the border frames repeated. Trained with it, a net does not tell a crisp burst from a
    smeared one by its sharpness alone.

    Spec: ``time_blur: {sigma: [0, 2], p: 0.5}`` (sigma in frames; 0 leaves the spectrogram as it is). The kernel
    size defaults to ``2 * ceil(3 * sigma_max) + 1`` frames.

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"time_blur": {"sigma": [0.5, 2.0], "p": 1.0}}], seed=0)
        >>> pipe(torch.rand(2, 1, 40, 101)).shape
        torch.Size([2, 1, 40, 101])
    """

    name = "time_blur"
    domain = "spectrogram"
    in_place = False
    params = {
        "sigma": RangeParam((0.0, 2.0), low=0.0),
        "kernel_size": NumberParam(None, low=1, integer=True, odd=True),
    }

    def validate(self):
        if self.cfg["kernel_size"] is None:
            self.cfg["kernel_size"] = gaussian.kernel_size(self.cfg["sigma"].hi)

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator, out=None) -> torch.Tensor:  # x: (B, C, F, T)
        B, C, Fq, T = x.shape
        k = self.cfg["kernel_size"]
        r = k // 2
        kernel = gaussian.kernels(p["sigma"].to(x.dtype), p["active"], k, x).repeat_interleave(C * Fq, 0)  # (B*C*F, k)
        rows = F.pad(x.reshape(1, B * C * Fq, T), (r, r), mode="replicate")
        return F.conv1d(rows, kernel[:, None, :], groups=B * C * Fq).view(B, C, Fq, T)
