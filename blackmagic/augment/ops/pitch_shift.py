import math

import torch
import torch.nn.functional as F

from ..op import Op, keep_inactive, register
from ..params import NumberParam, RangeParam
from ..resample import resample

TINY = torch.finfo(torch.float32).tiny  # librosa's istft divides by the window envelope only above this


@register
class PitchShift(Op):
    """Shift each voice up or down by per-sample semitones, its timing kept, so that one speaker sounds like several.

    As audiomentations ``PitchShift`` with ``method="librosa_phase_vocoder"``, i.e. librosa ``effects.pitch_shift``:
    the clip is stretched in time by ``2 ** (semitones / 12)`` with a phase vocoder (STFT with a periodic Hann
    window of ``n_fft`` samples, hop ``n_fft // 4``, zero-padded centred frames; magnitudes interpolated, phases
    advanced), then resampled back to its length by the same factor (``augment.resample``, where librosa uses
    soxr), which moves every frequency by that factor. Duration and rough loudness are kept (a phase vocoder loses
    some level on steady tones, librosa's as much: 9-17% at +2 semitones in the tests); the output is cut or
    zero-padded at the end to the input's length. ``n_fft`` 2048 is librosa's default; shorter windows smear transients less and resolve low
    voices' harmonics less finely.

    Spec: ``pitch_shift: {semitones: [-3, 3], n_fft: 2048, p: 0.5}`` (a scalar ``s`` means ``[-s, s]``; at most
    24 semitones either way)

    Example:
        >>> import torch
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"pitch_shift": {"semitones": 2}}], seed=0)
        >>> pipe(torch.randn(4, 1, 16000)).shape
        torch.Size([4, 1, 16000])
    """

    name = "pitch_shift"
    domain = "audio"
    in_place = False
    params = {
        "semitones": RangeParam(3.0, low=-24.0, high=24.0, scalar="sym"),
        "n_fft": NumberParam(2048, low=16, integer=True),
    }

    def validate(self):
        if self.cfg["n_fft"] % 4:
            raise self.error("n_fft", f"must be a multiple of 4 (the hop is n_fft / 4), got {self.cfg['n_fft']}")

    def apply(self, x, p, g, out=None):  # x: (B, C, T)
        B, C, T = x.shape
        semitones = self.cfg["semitones"]
        factor = torch.exp2(p["semitones"] / 12)  # > 1: higher (librosa's rate is 1 / factor)
        stretched = stretch(x.reshape(B * C, T), factor[:, None].expand(B, C).reshape(-1), self.cfg["n_fft"],
                            2 ** (semitones.hi / 12))
        y = resample(stretched.view(B, C, -1), factor, T, 2 ** (semitones.hi / 12))
        return keep_inactive(p["active"], y, x)

    def dali(self, x, p, ctx):  # x: (T,); DALI has no inverse STFT, so this runs the torch code in the pipeline
        return ctx.run_in_torch(self, x, p)


def stretch(x: torch.Tensor, factor: torch.Tensor, n_fft: int, max_factor: float) -> torch.Tensor:
    """librosa ``effects.time_stretch`` with ``rate = 1 / factor`` per row, batched: (N, T) -> (N, L), where row
    ``i`` holds ``round(T * factor[i])`` samples, then zeros (``max_factor``: the largest factor, which sets L)."""
    N, T = x.shape
    hop = n_fft // 4
    window = torch.hann_window(n_fft, periodic=True, device=x.device)
    spec = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)
    frames = spec.shape[-1]  # (N, bins, frames), frames = 1 + T // hop
    spec = F.pad(spec, (0, 2))  # librosa's two zero frames after the end
    mag, angle = spec.abs(), spec.angle()
    out_frames = math.ceil(frames * max_factor)  # the most any row needs (librosa: len(arange(0, frames, rate)))
    step = torch.arange(out_frames, device=x.device, dtype=torch.float64) / factor.double()[:, None]  # (N, M)
    left = step.floor()
    alpha = (step - left).float()[:, None, :]  # (N, 1, M)
    left = left.clamp_(max=frames).long()[:, None, :].expand(N, mag.shape[1], out_frames)
    right = left + 1
    gather = lambda v, i: torch.gather(v, 2, i)  # noqa: E731
    magnitude = torch.lerp(gather(mag, left), gather(mag, right), alpha)
    # The expected phase advance per hop, taken modulo 2 pi so that the running sum stays small in float32.
    advance = torch.linspace(0, math.pi * hop, mag.shape[1], device=x.device, dtype=torch.float64)
    advance = torch.remainder(advance, 2 * math.pi).float()[:, None]  # (bins, 1)
    dphase = gather(angle, right) - gather(angle, left) - advance
    dphase -= 2 * math.pi * torch.round(dphase / (2 * math.pi))
    increment = advance + dphase  # (N, bins, M): output frame m + 1's phase minus frame m's
    phase = torch.cumsum(increment, -1) - increment + angle[..., :1]  # frame m: the first frame's + increments before
    frames_out = torch.fft.irfft(torch.polar(magnitude, phase), n=n_fft, dim=1) * window[:, None]  # (N, n_fft, M)
    # Overlap-add, divided by the summed squared windows of each row's own frames (torch.istft would sync with
    # the host to check them). Row i has ceil(frames * factor[i]) frames; the rest hold silence.
    own = (step < frames).float()[:, None, :]  # (N, 1, M)
    length = n_fft + hop * (out_frames - 1)
    fold = lambda v: F.fold(v, (1, length), (1, n_fft), stride=(1, hop)).view(v.shape[0], length)  # noqa: E731
    signal = fold(frames_out)
    envelope = fold(window.square()[None, :, None] * own)
    signal = torch.where(envelope > TINY, signal / envelope, signal)
    signal = signal[:, n_fft // 2 :]  # the first frame's centring padding off; the last frames' halves stay
    kept = torch.arange(signal.shape[-1], device=x.device) < torch.round(T * factor.double())[:, None]
    return signal * kept
