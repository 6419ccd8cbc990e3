import torch

from ..draws import integers
from ..op import Op, Params, register
from ..params import ChoiceParam, FlagParam, NumberParam, RangeParam
from ..shifts import shift_rows

# audiomentations refuses fades shorter than this (2 samples at 8 kHz)
MIN_FADE = 0.00025


@register
class TimeShift(Op):
    """For words that start anywhere in the clip: shift audio in time, as audiomentations ``Shift``: positive =
    later, rounded to whole samples, with rollover (wrap around) or zero fill, and an optional fade (seconds)
    at the stitch.

    Spec: ``time_shift: {shift: [-0.1, 0.1], unit: fraction, rollover: true, fade: 0.0, p: 0.5}`` where
    ``unit`` is ``fraction`` (of the clip length), ``seconds`` or ``samples``; a scalar ``s`` means ``[-s, s]``.
    """

    name = "time_shift"
    domain = "audio"
    in_place = False
    params = {
        "shift": RangeParam(0.1, scalar="sym"),
        "unit": ChoiceParam("fraction", ("fraction", "seconds", "samples")),
        "rollover": FlagParam(True),
        "fade": NumberParam(0.0, low=0.0),
    }

    def validate(self):
        unit, shift, fade = self.cfg["unit"], self.cfg["shift"], self.cfg["fade"]
        if unit == "fraction" and (shift.lo < -1 or shift.hi > 1):
            raise self.error("shift", f"a fraction of the length must lie in [-1, 1], got [{shift.lo:g}, {shift.hi:g}]")
        if unit == "samples" and (shift.lo != int(shift.lo) or shift.hi != int(shift.hi)):
            raise self.error("shift", f"with unit 'samples' the range must hold whole numbers, got [{shift.lo:g}, {shift.hi:g}]")
        if 0 < fade < MIN_FADE:
            raise self.error("fade", f"a fade must be 0 (off) or at least {MIN_FADE} s, got {fade:g}")
        if (unit == "seconds" or fade > 0) and not self.context.sample_rate:
            key = "unit" if unit == "seconds" else "fade"
            raise self.error(key, "needs the sample rate: build(spec, sample_rate=...)")

    def sample(self, key, u, rng, decl, d):
        if self.cfg["unit"] == "samples":
            return integers(d, u, rng.lo, rng.hi)
        return super().sample(key, u, rng, decl, d)

    def prepare(self, p, x):
        """The shift of each sample in whole samples (later > 0), once for the whole batch."""
        shift = p["shift"]
        if self.cfg["unit"] == "fraction":
            shift = shift * x.shape[-1]
        elif self.cfg["unit"] == "seconds":
            shift = shift * self.context.sample_rate
        return {**p, "n": torch.where(p["active"], shift.round(), 0.0).long()}  # (B,)

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator,
              out: torch.Tensor | None = None) -> torch.Tensor:  # x: (B, C, T)
        if "n" not in p:  # called on its own rather than by a pipeline
            p = self.prepare(p, x)
        y = shift_rows(x, p["n"], self.cfg["rollover"], out)
        if self.cfg["fade"] > 0:
            t = torch.arange(x.shape[-1], device=x.device)
            y = y.mul_(self._fade(p["n"][:, None], t, x)[:, None, :])
        return y

    def _fade(self, n, t, x):
        """Gain (B, T): equal-energy fade in after and fade out before the stitch, as audiomentations."""
        length = int(self.context.sample_rate * self.cfg["fade"])
        r = torch.linspace(0, 1, length, device=x.device, dtype=x.dtype)
        a = r * (1 - r)
        b = a * (1 + 1.4186 * a)
        fade_in, fade_out = (b + r) ** 2, (b + 1 - r) ** 2
        T = x.shape[-1]
        stitch = torch.where(n > 0, n, n + T)  # where the old start (n > 0) or the old end (n < 0) now is
        d = t - stitch  # (B, T)
        rolled = self.cfg["rollover"]
        use_in = (n > 0) | ((n < 0) & rolled)
        use_out = (n < 0) | ((n > 0) & rolled)
        gain = torch.ones_like(d, dtype=x.dtype)
        gain = torch.where(use_in & (d >= 0) & (d < length), fade_in[d.clamp(0, length - 1)], gain)
        return torch.where(use_out & (d < 0) & (d >= -length), fade_out[(d + length).clamp(0, length - 1)], gain)

    def dali_problem(self):
        if self.cfg["fade"] > 0:
            return "with a fade: the DALI backend shifts without fades; set fade: 0 or use the torch backend"
        return None

    def dali(self, x, p, ctx):  # x: (T,)
        from nvidia.dali import fn, types
        from nvidia.dali import math as dmath

        length = fn.cast(x.shape()[0], dtype=types.FLOAT)
        shift = p["shift"] * {"fraction": length, "seconds": float(self.context.sample_rate or 0), "samples": 1.0}[
            self.cfg["unit"]]
        n = ctx.math.where(p["active"], dmath.floor(shift + 0.5), 0.0)  # samples, later > 0
        size = fn.cast(length, dtype=types.INT32)
        if self.cfg["rollover"]:
            start = ctx.math.where(n > 0.0, length - n, -n)
            return fn.slice(fn.cat(x, x, axis=0), start=fn.cast(start, dtype=types.INT32), shape=size, axes=[0])
        return fn.slice(x, start=fn.cast(-n, dtype=types.INT32), shape=size, axes=[0], out_of_bounds_policy="pad")

