import math

import torch

from ..filters import WORK, sosfilt
from ..mels import hz_to_mel, mel_to_hz
from ..op import DeviceConstants, Op, keep_inactive, register
from ..params import RangeParam

# audiomentations SevenBandParametricEQ's bands: a low shelf, five peaks, a high shelf, each centre drawn in its
# range on the mel scale
BANDS_HZ = ((42.0, 95.0), (91.0, 204.0), (196.0, 441.0), (421.0, 948.0), (909.0, 2045.0), (1957.0, 4404.0),
            (4216.0, 9486.0))
PEAKS = len(BANDS_HZ) - 2


# (2, 7) each band's range in mels, copied to each device once
MEL_EDGES = DeviceConstants(edges=torch.tensor([[hz_to_mel(lo) for lo, _ in BANDS_HZ],
                                                [hz_to_mel(hi) for _, hi in BANDS_HZ]]))


@register
class Equalizer(Op):
    """Colour the spectrum as microphones, rooms, small speakers and distance do: a seven-band parametric
    equaliser with per-sample gains, centres and Q, as audiomentations ``SevenBandParametricEQ``.

    Spec: ``equalizer: {gain_db: [-12, 12], center: [0, 1], q: [0.5, 5], shelf_q: [0.1, 0.999], p: 0.5}``

    The bands are a low shelf (centre in 42-95 Hz), five peaking filters (91-204, 196-441, 421-948, 909-2045,
    1957-4404 Hz) and a high shelf (4216-9486 Hz), the biquads of the Audio EQ Cookbook, run one after the other,
    causal, started in the steady state of each channel's first sample (as audiomentations). Each band draws its
    own gain from ``gain_db`` (a scalar ``g`` means ``[-g, g]``), its centre from ``center`` (where in the band's
    range it lies on the mel scale: 0 its low end, 1 its high end; as audiomentations, uniform in mels over the
    whole range by default; ``last_params`` keeps these points) and its Q: ``q`` for the peaks, ``shelf_q`` (at
    most 1) for the shelves. Centres above the Nyquist frequency are moved just below it (as audiomentations does
    for its shelves).

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"equalizer": {"gain_db": 6, "p": 1.0}}], seed=0, sample_rate=16_000)
        >>> pipe(torch.randn(4, 1, 8000)).shape
        torch.Size([4, 1, 8000])
    """

    name = "equalizer"
    domain = "audio"
    in_place = False
    params = {
        "gain_db": RangeParam((-12.0, 12.0), scalar="sym", columns=len(BANDS_HZ)),
        "center": RangeParam((0.0, 1.0), low=0.0, high=1.0, columns=len(BANDS_HZ)),
        "q": RangeParam((0.5, 5.0), low=0.01, columns=PEAKS),
        "shelf_q": RangeParam((0.1, 0.999), low=0.01, high=1.0, columns=2),
    }

    def validate(self):
        if not self.context.sample_rate:
            raise self.error(None, "needs the sample rate (its bands are in Hz): build(spec, sample_rate=...)")

    def apply(self, x, p, g, out=None):  # x: (B, C, T)
        b, a = cookbook(centre_hz(p["center"]), p["gain_db"], p["q"], p["shelf_q"], self.context.sample_rate)
        return keep_inactive(p["active"], sosfilt(x, b, a).to(x.dtype), x)

    def dali(self, x, p, ctx):  # x: (T,); DALI has no IIR filter, so this runs the torch code in the pipeline
        return ctx.run_in_torch(self, x, p)


def centre_hz(where: torch.Tensor) -> torch.Tensor:
    """(B, 7) points of the bands' ranges (0 low end, 1 high end, linear in mels) -> centres in Hz, float64."""
    where = where.to(WORK)
    edges = MEL_EDGES.get("edges", where)
    return mel_to_hz(edges[0] + where * (edges[1] - edges[0]))


def cookbook(center: torch.Tensor, gain_db: torch.Tensor, q: torch.Tensor, shelf_q: torch.Tensor, rate: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The seven biquads per sample: centres (B, 7) in Hz, gains (B, 7) in dB, the peaks' Q (B, 5) and the shelves'
    (B, 2). Returns ``(b, a)``, (B, 7, 3) float64 each with a0 = 1 (the Audio EQ Cookbook's low shelf, peaking
    EQ and high shelf)."""
    nyquist = rate // 2
    f = center.to(WORK)
    f = torch.where(f > nyquist, nyquist * 0.9999, f)
    w = 2 * math.pi * f / rate
    A = torch.pow(10.0, gain_db.to(WORK) / 40)
    Q = torch.cat([shelf_q[:, :1], q, shelf_q[:, 1:]], 1).to(WORK)
    alpha, cos = torch.sin(w) / (2 * Q), torch.cos(w)
    # peaking EQ
    b = torch.stack([1 + alpha * A, -2 * cos, 1 - alpha * A], -1)
    a = torch.stack([1 + alpha / A, -2 * cos, 1 - alpha / A], -1)
    # the shelves (band 0 low, band 6 high): sign s = +1 for the low shelf, -1 for the high
    for band, s in ((0, 1.0), (len(BANDS_HZ) - 1, -1.0)):
        Ab, c, al = A[:, band], cos[:, band], alpha[:, band]
        root = 2 * torch.sqrt(Ab) * al
        b[:, band] = torch.stack([Ab * ((Ab + 1) - s * (Ab - 1) * c + root), s * 2 * Ab * ((Ab - 1) - s * (Ab + 1) * c),
                                  Ab * ((Ab + 1) - s * (Ab - 1) * c - root)], -1)
        a[:, band] = torch.stack([(Ab + 1) + s * (Ab - 1) * c + root, -s * 2 * ((Ab - 1) + s * (Ab + 1) * c),
                                  (Ab + 1) + s * (Ab - 1) * c - root], -1)
    return b / a[..., :1], a / a[..., :1]
