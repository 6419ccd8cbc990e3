import math

import torch
import torch.nn.functional as F
from torchaudio.transforms import Resample

from ..filters import butterworth, sections, sosfilt
from ..op import BuildContext, DeviceConstants, Op, keep_inactive, per_sample, register
from ..params import RangeParam

RATE = 8000  # G.711 samples at 8 kHz
MU = 255.0  # 8-bit mu-law
LOG1P_MU = float(torch.log1p(torch.tensor(MU)))  # in float32, as torchaudio computes it
ORDER = 4  # band-pass order: 24 dB/octave skirts on either side of the band


@register
class Telephone(Op):
    """Make a clip sound as if it came down a phone line: a 300-3400 Hz channel filter, 8 kHz sampling and a
    G.711 mu-law codec (8 bits, mu = 255), then back to the pipeline's sample rate.

    Spec: ``telephone: {gain_db: 0, low_hz: 300, high_hz: 3400, p: 0.5}``

    Per sample: the level is changed by ``gain_db`` (a scalar ``g`` means ``[-g, g]``; the codec's quantisation
    noise is relative to the signal and clips above 1, so the level matters), the clip is resampled to 8 kHz
    (torchaudio's windowed-sinc resampler), band-passed between ``low_hz`` and ``high_hz`` (order-4 Butterworth,
    causal, started in the steady state), clipped to [-1, 1], mu-law encoded and decoded exactly as
    ``torchaudio.functional.mu_law_encoding`` / ``mu_law_decoding`` with 256 levels, and resampled back. The
    output keeps the input's length and the changed level.

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"telephone": {"p": 1.0}}], seed=0, sample_rate=16_000)
        >>> pipe(torch.randn(2, 1, 1600) * 0.1).shape
        torch.Size([2, 1, 1600])
    """

    name = "telephone"
    domain = "audio"
    in_place = False
    params = {
        "gain_db": RangeParam(0.0, scalar="sym"),
        "low_hz": RangeParam(300.0),
        "high_hz": RangeParam(3400.0),
    }

    def __init__(self, given, context=BuildContext()):
        super().__init__(given, context)
        rate = context.sample_rate
        resamplers = {"down": Resample(rate, RATE), "up": Resample(RATE, rate)} if rate != RATE else {}
        self.kernels = DeviceConstants(**{k: r.kernel for k, r in resamplers.items()})  # to each device once
        self.steps = {k: (r.orig_freq // r.gcd, r.new_freq // r.gcd, r.width) for k, r in resamplers.items()}

    def validate(self):
        rate, low, high = self.context.sample_rate, self.cfg["low_hz"], self.cfg["high_hz"]
        if not rate:
            raise self.error(None, "needs the sample rate: build(spec, sample_rate=...)")
        if rate < RATE:
            raise self.error(None, f"a telephone channel samples at {RATE} Hz; audio at {rate} Hz is already below it")
        if low.lo <= 0:
            raise self.error("low_hz", f"must be > 0 Hz, got [{low.lo:g}, {low.hi:g}]")
        if high.hi >= RATE / 2:
            raise self.error("high_hz", f"must stay below {RATE / 2:g} Hz, the Nyquist frequency of the 8 kHz channel; "
                                        f"got [{high.lo:g}, {high.hi:g}]")
        if low.hi >= high.lo:
            raise self.error("low_hz", f"the band's lower edge [{low.lo:g}, {low.hi:g}] must lie below its upper edge "
                                       f"high_hz [{high.lo:g}, {high.hi:g}]")

    def apply(self, x, p, g, out=None):  # x: (B, C, T)
        T = x.shape[-1]
        gain = 10 ** (torch.where(p["active"], p["gain_db"], 0.0) / 20)
        y = self._resample(x * per_sample(gain, x), "down")  # (B, C, T8)
        order = torch.full_like(gain, ORDER)
        b, a = butterworth("bandpass", order, sections("bandpass", ORDER), p["low_hz"].double() / RATE,
                           p["high_hz"].double() / RATE)
        y = mu_law_round_trip(sosfilt(y, b, a).to(x.dtype))
        y = self._resample(y, "up")[..., :T].contiguous()
        return keep_inactive(p["active"], y, x)

    def _resample(self, x, name):
        """torchaudio's ``resample`` (its kernel applied as it does), skipped at 8 kHz."""
        if name not in self.steps:
            return x
        orig, new, width = self.steps[name]
        B, C, T = x.shape
        kernel = self.kernels.get(name, x)
        y = F.conv1d(F.pad(x.reshape(B * C, 1, T), (width, width + orig)), kernel, stride=orig)  # (B C, new, n)
        return y.transpose(1, 2).reshape(B, C, -1)[..., : math.ceil(new * T / orig)]

    def dali(self, x, p, ctx):  # x: (T,); DALI has no IIR filter, so this runs the torch code in the pipeline
        return ctx.run_in_torch(self, x, p)


def mu_law_round_trip(x: torch.Tensor) -> torch.Tensor:
    """G.711 mu-law (256 levels) encoding and decoding of ``x`` clipped to [-1, 1]: the very operations of
    torchaudio's ``mu_law_encoding`` and ``mu_law_decoding``, with Python constants (no host-to-device copy)."""
    x = x.clamp(-1.0, 1.0)
    code = ((torch.sign(x) * torch.log1p(MU * torch.abs(x)) / LOG1P_MU + 1) / 2 * MU + 0.5).floor()  # 0 .. 255
    y = (code / MU) * 2 - 1.0
    return torch.sign(y) * (torch.exp(torch.abs(y) * LOG1P_MU) - 1.0) / MU
