import torch

from ..draws import integers
from ..filters import butterworth, filtfilt_edge, sections, sosfilt, sosfiltfilt
from ..mels import hz_to_mel, mel_to_hz
from ..op import BuildContext, Op, keep_inactive, register
from ..params import ChoiceParam, FlagParam, RangeParam, fail

MODES = ("lowpass", "highpass", "bandpass")
# audiomentations' defaults for each mode (LowPassFilter, HighPassFilter, BandPassFilter)
CUTOFF = {"lowpass": (150.0, 7500.0), "highpass": (20.0, 2400.0)}
BAND_KEYS = ("center_hz", "bandwidth")


def _unused(mode: str) -> tuple[str, ...]:
    """The keys a mode does not take."""
    return ("cutoff_hz",) if mode == "bandpass" else BAND_KEYS


@register
class BandLimit(Op):
    """Band-limit speech as cheap microphones, small speakers and narrow channels do: a Butterworth low-pass,
    high-pass or band-pass filter with a per-sample cutoff and steepness, as audiomentations ``LowPassFilter``,
    ``HighPassFilter`` and ``BandPassFilter``.

    Spec: ``band_limit: {mode: lowpass, cutoff_hz: [150, 7500], rolloff_db: [12, 24], zero_phase: false, p: 0.5}``;
    ``mode: bandpass`` takes ``center_hz: [200, 4000]`` and ``bandwidth: [0.5, 1.99]`` (a fraction of the centre
    frequency) instead of ``cutoff_hz``, whose default for ``mode: highpass`` is ``[20, 2400]``.

    As audiomentations: the cutoff (or centre) is drawn uniformly on the mel scale, the roll-off in whole
    multiples of 6 dB/octave (filter order = roll-off / 6), or of 12 with ``zero_phase`` (the order-(roll-off / 12)
    filter run forward and backward as ``scipy.signal.sosfiltfilt``: no phase shift, -6 dB at the cutoff). The
    causal filter starts in the steady state of each channel's first sample (``sosfilt_zi``). Cutoffs and band
    edges must lie below the Nyquist frequency (audiomentations clips them there; here the build fails instead).

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"band_limit": {"mode": "bandpass", "center_hz": [500, 2000]}}], sample_rate=16_000)
        >>> pipe(torch.randn(4, 1, 16_000)).shape
        torch.Size([4, 1, 16000])
    """

    name = "band_limit"
    domain = "audio"
    in_place = False
    params = {
        "mode": ChoiceParam("lowpass", MODES),
        "cutoff_hz": RangeParam(CUTOFF["lowpass"]),
        "center_hz": RangeParam((200.0, 4000.0)),
        "bandwidth": RangeParam((0.5, 1.99)),
        "rolloff_db": RangeParam((12.0, 24.0)),
        "zero_phase": FlagParam(False),
    }

    def __init__(self, given, context=BuildContext()):
        mode = given.get("mode", "lowpass") if isinstance(given, dict) else None
        if mode in MODES:  # the keys that the mode uses, and its own default cutoffs
            for key in _unused(mode):
                if key in given:
                    uses = "center_hz and bandwidth" if mode == "bandpass" else "cutoff_hz"
                    raise fail(self.name, key, f"mode {mode} does not use it; it takes {uses}")
            if mode in CUTOFF and "cutoff_hz" not in given:
                given = {**given, "cutoff_hz": list(CUTOFF[mode])}
        super().__init__(given, context)

    @property
    def step(self) -> int:
        return 12 if self.cfg["zero_phase"] else 6

    @property
    def ranges(self):
        return [r for r in super().ranges if r[0] not in _unused(self.cfg["mode"])]

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.cfg.items() if k not in _unused(self.cfg["mode"]))

    def validate(self):
        rate, cfg = self.context.sample_rate, self.cfg
        if not rate:
            raise self.error(None, "needs the sample rate: build(spec, sample_rate=...)")
        nyquist = rate / 2
        rolloff = cfg["rolloff_db"]
        for v in (rolloff.lo, rolloff.hi):
            if v < self.step or v % self.step:
                what = "zero-phase filters" if cfg["zero_phase"] else "filters"
                raise self.error("rolloff_db", f"{what} roll off in whole multiples of {self.step} dB/octave "
                                               f"(>= {self.step}); got [{rolloff.lo:g}, {rolloff.hi:g}]")
        if cfg["mode"] == "bandpass":
            centre, width = cfg["center_hz"], cfg["bandwidth"]
            if centre.lo <= 0:
                raise self.error("center_hz", f"must be > 0 Hz, got [{centre.lo:g}, {centre.hi:g}]")
            if width.lo <= 0 or width.hi >= 2:
                raise self.error("bandwidth", "a fraction of the centre frequency in (0, 2) (the band's lower edge "
                                              f"stays above 0 Hz); got [{width.lo:g}, {width.hi:g}]")
            top = centre.hi * (1 + width.hi / 2)
            if top >= nyquist:
                raise self.error("center_hz", f"the band reaches {top:g} Hz (center_hz {centre.hi:g} with bandwidth "
                                              f"{width.hi:g}), above the Nyquist frequency {nyquist:g} Hz of "
                                              f"{rate} Hz audio; lower center_hz or bandwidth")
        else:
            cutoff = cfg["cutoff_hz"]
            if cutoff.lo <= 0 or cutoff.hi >= nyquist:
                raise self.error("cutoff_hz", f"cutoffs must lie in (0, {nyquist:g}) Hz, below the Nyquist frequency "
                                              f"of {rate} Hz audio; got [{cutoff.lo:g}, {cutoff.hi:g}]")

    def sample(self, key, u, rng, decl, d):
        if key == "rolloff_db":
            return integers(d, u, rng.lo // self.step, rng.hi // self.step) * self.step
        if key in ("cutoff_hz", "center_hz") and not rng.fixed:  # uniform in mels, as audiomentations
            lo, hi = hz_to_mel(rng.lo), hz_to_mel(rng.hi)
            return mel_to_hz(u * (hi - lo) + lo)
        return super().sample(key, u, rng, decl, d)

    def apply(self, x, p, g, out=None):  # x: (B, C, T)
        kind, rate = self.cfg["mode"], self.context.sample_rate
        order = p["rolloff_db"] / self.step  # (B,) whole numbers
        most = int(self.cfg["rolloff_db"].hi) // self.step
        if kind == "bandpass":
            centre = p["center_hz"].double()
            half = centre * p["bandwidth"].double() / 2
            b, a = butterworth(kind, order, sections(kind, most), (centre - half) / rate, (centre + half) / rate)
        else:
            b, a = butterworth(kind, order, sections(kind, most), p["cutoff_hz"].double() / rate)
        if self.cfg["zero_phase"]:
            edge = filtfilt_edge(kind, most)
            if x.shape[-1] <= edge:
                raise ValueError(f"augment: op 'band_limit' with zero_phase needs clips longer than {edge} samples "
                                 f"(the filter's edge extension at rolloff_db {self.cfg['rolloff_db'].hi:g}); "
                                 f"got {x.shape[-1]}")
            y = sosfiltfilt(x, b, a, filtfilt_edge(kind, order.long()), edge)
        else:
            y = sosfilt(x, b, a)
        return keep_inactive(p["active"], y.to(x.dtype), x)

    def dali(self, x, p, ctx):  # x: (T,); DALI has no IIR filter, so this runs the torch code in the pipeline
        return ctx.run_in_torch(self, x, p)

