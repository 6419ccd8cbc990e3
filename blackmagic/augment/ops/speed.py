from ..op import Op, keep_inactive, register
from ..params import RangeParam
from ..resample import resample


@register
class Speed(Op):
    """Speed perturbation, a keyword-spotting staple: each clip played faster or slower, tempo and pitch together.

    As in speech recognition recipes (Kaldi's 0.9 / 1.0 / 1.1), torchaudio ``SpeedPerturbation`` and sox ``speed``.

    A factor ``f`` > 1 is faster and higher: output sample ``n`` is the input read at ``n * f``, band-limited (a
    Kaiser-windowed sinc with its cutoff at 0.88 of Nyquist, lowered to 0.88 / f for f > 1 so that nothing aliases;
    torchaudio's ``resample`` with that kernel, see ``augment.resample``). The length is kept: the clip's start
    stays in place, a sped-up clip is zero-padded at the end and a slowed-down one is cut at the end.

    Spec: ``speed: {factor: [0.9, 1.1], p: 0.5}`` (a scalar ``x`` means ``[1 - x, 1 + x]``; factors lie in
    [0.25, 4])

    Example:
        >>> import torch
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"speed": {"factor": [0.85, 1.15]}}], seed=0)
        >>> pipe(torch.randn(4, 1, 16000)).shape
        torch.Size([4, 1, 16000])
    """

    name = "speed"
    domain = "audio"
    in_place = False
    params = {"factor": RangeParam(0.1, low=0.25, high=4.0, scalar="factor")}

    def apply(self, x, p, g, out=None):  # x: (B, C, T)
        y = resample(x, p["factor"], x.shape[-1], self.cfg["factor"].hi)
        return keep_inactive(p["active"], y, x)

    def dali(self, x, p, ctx):  # x: (T,)
        from nvidia.dali import fn, types

        # DALI's resampler (a Hann-windowed sinc of its own) reads ``factor`` input samples per output sample
        y = fn.audio_resample(x, in_rate=p["factor"], out_rate=1.0, quality=50.0)
        length = fn.cast(x.shape(), dtype=types.INT32)
        y = fn.slice(y, start=[0], shape=length, axes=[0], out_of_bounds_policy="pad")
        return ctx.keep_inactive(p["active"], y, x)
