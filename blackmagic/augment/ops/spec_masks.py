"""SpecAugment masks for spectrograms (B, C, F, T): ``time_mask`` and ``freq_mask``."""
import torch

from ..draws import integers
from ..op import Op, Params, register
from ..params import NumberParam, RangeParam


class SpecMask(Op):
    """SpecAugment, so that no one time span or frequency band decides: fill ``count`` bands of per-sample
    random width (whole bins) at random positions with ``value``."""

    domain = "spectrogram"
    axis: int
    params = {
        "width": RangeParam((0, 10), low=0, integer=True),
        "count": NumberParam(1, low=1, integer=True),
        "value": NumberParam(0.0),
    }

    def columns(self):
        return 1 + 2 * self.cfg["count"]

    def draw(self, d, active):
        count, w = self.cfg["count"], self.cfg["width"]
        return {
            "active": active & (d.col(0) < self.cfg["p"]),
            "width": integers(d, d.block(1, count), w.lo, w.hi),  # (B, count)
            "start": d.block(1 + count, count),  # (B, count) uniform position of each band
        }

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, F, T)
        size = x.shape[self.axis]
        width = p["width"].clamp(max=size)
        start = (p["start"] * (size - width + 1)).floor()  # (B, count)
        pos = torch.arange(size, device=x.device, dtype=x.dtype)[None, None, :]  # (1, 1, L)
        band = ((pos >= start[..., None]) & (pos < (start + width)[..., None])).any(1)  # (B, L)
        band &= p["active"][:, None]
        shape = (x.shape[0], 1, size, 1) if self.axis == -2 else (x.shape[0], 1, 1, size)
        return x.masked_fill_(band.view(shape), self.cfg["value"])


@register
class TimeMask(SpecMask):
    """Spec: ``time_mask: {width: [0, 20], count: 2, value: 0.0, p: 0.5}`` (width in frames)."""

    name = "time_mask"
    axis = -1


@register
class FreqMask(SpecMask):
    """Spec: ``freq_mask: {width: [0, 8], count: 2, value: 0.0, p: 0.5}`` (width in mel bins)."""

    name = "freq_mask"
    axis = -2
