import math

import torch

from ..audio import rms
from ..op import BuildContext, Op, keep_inactive, per_sample, register
from ..params import ChoiceParam, RangeParam
from ..random16 import standard_normal

SYNTHETIC_ONLY = ("rt60", "drr_db")


@register
class Reverb(Op):
    """Room reverberation, so that close-talk recordings sound like speech from across a room (or a far-field mic).

    A convolution with a room impulse response (IR), by FFT on the batch's device.

    ``source: synthetic`` (default) makes one IR per sample: a unit impulse at t = 0 (the direct sound) followed by
    Gaussian noise decaying exponentially by 60 dB in ``rt60`` seconds (the reverberant tail, ``rt60`` long), scaled
    so that the direct-to-reverberant energy ratio is ``drr_db``; the noise comes from the pipeline's generator.
    ``source: files`` draws each sample's IR from recordings given with ``pipe.set_impulse_responses(irs)``
    (at the pipeline's sample rate), as audiomentations
    ``ApplyImpulseResponse``. Either way the reverberant tail past the clip's end is cut off (the length is kept,
    audiomentations' ``leave_length_unchanged=True``) and each clip keeps its RMS level (audiomentations instead
    scales every output to a peak of 0.5).

    Spec: ``reverb: {source: synthetic, rt60: [0.2, 1.0], drr_db: [0, 15], p: 0.5}`` (``rt60`` in seconds, in
    (0, 10]; with ``source: files``, only ``p``)

    Example:
        >>> import torch
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"reverb": {"rt60": [0.3, 0.8]}}], seed=0, sample_rate=16000)
        >>> pipe(torch.randn(4, 1, 16000)).shape
        torch.Size([4, 1, 16000])
    """

    name = "reverb"
    domain = "audio"
    in_place = False
    params = {
        "source": ChoiceParam("synthetic", ("synthetic", "files")),
        "rt60": RangeParam((0.2, 1.0), low=0.0, high=10.0),
        "drr_db": RangeParam((0.0, 15.0)),
    }
    dali_unsupported = ("convolves every sample with its own impulse response, which no DALI operator does; use the "
                        "torch backend")

    def __init__(self, given, context=BuildContext()):
        super().__init__(given, context)
        if self.files:
            extra = sorted(set(given or {}) & set(SYNTHETIC_ONLY))
            if extra:
                raise self.error(extra[0], "shapes synthetic impulse responses; with source: files the recordings "
                                           "set the decay. Drop the key or use source: synthetic")
        self.register_buffer("bank", torch.empty(0, 0))  # (responses, samples), zero-padded

    def validate(self):
        if self.files:
            return
        if self.cfg["rt60"].lo <= 0:
            raise self.error("rt60", f"reverberation times must be > 0 s, got a range from {self.cfg['rt60'].lo:g}")
        if not self.context.sample_rate:
            raise self.error("rt60", "is in seconds and needs the sample rate: build(spec, sample_rate=...)")

    @property
    def files(self) -> bool:
        return self.cfg["source"] == "files"

    @property
    def ranges(self):
        return [r for r in super().ranges if not (self.files and r[0] in SYNTHETIC_ONLY)]

    def columns(self):
        return super().columns() + self.files  # which recording each sample takes

    def draw(self, d, active):
        out = super().draw(d, active)
        if self.files:
            out["choice"] = d.col(self.columns() - 1)
        return out

    @property
    def recordings(self) -> str | None:
        return "impulse_responses" if self.files else None

    @property
    def needs_recordings(self) -> bool:
        return self.files and self.bank.numel() == 0

    def set_recordings(self, responses: list[torch.Tensor] | torch.Tensor) -> None:
        """Recorded impulse responses, each (T,) or (1, T), at the pipeline's sample rate; joined into one bank.
        Each sample takes one of them, all with the same probability. They are used as recorded (a silent lead-in
        delays the clip)."""
        responses = [responses] if isinstance(responses, torch.Tensor) and responses.dim() == 1 else list(responses)
        rows = []
        for i, r in enumerate(responses):
            r = torch.as_tensor(r, dtype=torch.float32)
            if r.dim() == 2 and r.shape[0] == 1:
                r = r[0]
            if r.dim() != 1 or r.numel() == 0:
                raise ValueError(f"augment: op 'reverb': impulse response {i} has shape {tuple(r.shape)}; give mono "
                                 "responses, each (T,) or (1, T)")
            if not torch.isfinite(r).all() or not r.abs().max() > 0:
                raise ValueError(f"augment: op 'reverb': impulse response {i} is silent or holds NaN/infinity")
            rows.append(r)
        if not rows:
            raise ValueError("augment: op 'reverb': set_impulse_responses needs at least one response")
        self.bank = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True).to(self.bank.device)  # where the op is

    @property
    def ir_length(self) -> int:
        """Samples of a synthetic response: ``rt60``'s upper end, rounded up to a multiple of 4 (so that the CPU's
        16-bit noise draws, four per 64-bit word, do not depend on how the batch is tiled)."""
        return 4 * math.ceil(math.ceil(self.cfg["rt60"].hi * self.context.sample_rate) / 4)

    def impulse_responses(self, p, batch: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
        """(B, L) the impulse response of each sample."""
        if self.files:
            if self.bank.numel() == 0:
                raise RuntimeError("augment: op 'reverb' with source: files has no impulse responses: call "
                                   "pipeline.set_impulse_responses(responses) first")
            choice = (p["choice"] * len(self.bank)).long().clamp_(max=len(self.bank) - 1)
            return self.bank.to(device).index_select(0, choice)
        return synthetic_ir(p["rt60"], p["drr_db"], self.context.sample_rate,
                            standard_normal((batch, self.ir_length), g, device))

    def apply(self, x, p, g, out=None):  # x: (B, C, T)
        B, C, T = x.shape
        ir = self.impulse_responses(p, B, g, x.device)[:, :T]  # taps past the clip cannot reach what is kept
        n = fft_length(T + ir.shape[-1] - 1)  # no circular wrap into the kept samples
        y = torch.fft.irfft(torch.fft.rfft(x, n) * torch.fft.rfft(ir, n)[:, None], n)[..., :T]
        before, after = rms(x), rms(y)
        y.mul_(per_sample(torch.where(after > 0, before / after.clamp(min=1e-30), 1.0), y))
        return keep_inactive(p["active"], y, x)


def synthetic_ir(rt60: torch.Tensor, drr_db: torch.Tensor, sample_rate: int, noise: torch.Tensor) -> torch.Tensor:
    """(B, L) responses from (B, L) standard normal ``noise``: 1 at t = 0, then noise decaying by 60 dB in ``rt60``
    seconds, its energy ``10 ** (-drr_db / 10)`` (the direct sound's is 1)."""
    t = torch.arange(noise.shape[-1], device=noise.device, dtype=noise.dtype) / sample_rate
    tail = noise * torch.exp(t * (-3 * math.log(10)) / rt60[:, None])  # amplitude 1e-3 (-60 dB) at rt60
    tail[:, 0] = 0
    energy = tail.square().sum(-1, keepdim=True)
    tail *= torch.sqrt(10 ** (-drr_db[:, None] / 10) / energy)
    tail[:, 0] = 1
    return tail


def fft_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: FFT sizes both pocketfft (CPU) and cuFFT handle fast."""
    best = 1 << max(0, n - 1).bit_length()
    five = 1
    while five < best:
        m = five
        while m < best:
            k = m
            while k < n:
                k *= 2
            best = min(best, k)
            m *= 3
        five *= 5
    return best
