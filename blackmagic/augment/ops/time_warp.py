"""SpecAugment's time warp for spectrograms (B, C, F, T), with several warp points: ``time_warp``."""
import torch

from ..op import Op, Params, keep_inactive, register
from ..params import NumberParam


@register
class TimeWarp(Op):
    """Let the parts of an utterance run at their own pace: its onset faster and its vowel slower, or the other way
    round (speakers do; a speed change moves every part alike).

    Spec: ``time_warp: {width: 5, knots: 4, p: 0.5}`` (width in frames)

    ``knots`` warp points, evenly spaced between the first and the last frame (which stay), are each moved by a
    per-sample draw within ``[-width, width]`` frames; the frames between them are stretched or squeezed to fit,
    by linear interpolation between neighbouring frames. A move is held under half the spacing of the points, so
    time keeps its order whatever the length. ``knots: 1`` with a random point is SpecAugment's (Park et al., 2019)
    warp; here the points are fixed and their moves random.

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"time_warp": {"width": 4, "p": 1.0}}], seed=0)
        >>> pipe(torch.rand(2, 1, 40, 101)).shape
        torch.Size([2, 1, 40, 101])
    """

    name = "time_warp"
    domain = "spectrogram"
    in_place = False
    params = {
        "width": NumberParam(5.0, low=0.0),
        "knots": NumberParam(4, low=1, integer=True),
    }

    def columns(self):
        return 1 + self.cfg["knots"]

    def draw(self, d, active):
        return {"active": active & (d.col(0) < self.cfg["p"]),
                "move": d.block(1, self.cfg["knots"]) * 2 - 1}  # (B, knots) in [-1, 1): a fraction of the width

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator, out=None) -> torch.Tensor:  # x: (B, C, F, T)
        B, C, F, T = x.shape
        knots = self.cfg["knots"]
        spacing = (T - 1) / (knots + 1)
        reach = min(self.cfg["width"], 0.49 * spacing)
        ends = torch.zeros(B, 1, device=x.device, dtype=torch.float32)
        move = torch.cat([ends, p["move"].to(torch.float32) * reach, ends], 1)  # (B, knots + 2) in frames
        t = torch.arange(T, device=x.device, dtype=torch.float32)
        seg = (t / spacing).floor().clamp(max=knots).long()  # (T,) the span each output frame lies in
        frac = t / spacing - seg
        src = (t + torch.lerp(move[:, seg], move[:, seg + 1], frac)).clamp(0, T - 1)  # (B, T) frame read from
        lo = src.floor().long()
        hi = (lo + 1).clamp(max=T - 1)
        w = (src - lo)[:, None, None, :].to(x.dtype)
        frames = lambda i: x.gather(3, i[:, None, None, :].expand(B, C, F, T))  # noqa: E731
        return keep_inactive(p["active"], torch.lerp(frames(lo), frames(hi), w), x)
