import torch

from ..audio import rms
from ..op import BuildContext, Op, per_sample, register
from ..params import ChoiceParam, RangeParam, fail
from ..random16 import standard_normal

# the exponent beta of each colour's power spectral density 1 / f^beta
COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}
# Below this the spectrum is flat: in a 1 s brown-noise clip, 97% of a pure 1 / f^2 power lies under 20 Hz, where
# nothing is heard, and the SNR would mostly measure that.
FLAT_BELOW_HZ = 20.0


@register
class ColoredNoise(Op):
    """Add noise whose spectrum is tilted like real background noise (rumble and hum are brown or pink, hiss is
    white or blue), not only white, at a per-sample signal-to-noise ratio in dB, like torch-audiomentations
    ``AddColoredNoise``.

    Spec: ``colored_noise: {snr_db: [3, 30], f_decay: [-2, 2], color: random, p: 0.5}``

    The noise's power spectral density is proportional to 1 / f^beta. With ``color: random`` beta is drawn per
    sample from ``f_decay`` (in [-2, 2]); a named ``color`` fixes it: white 0, pink 1, brown 2, blue -1, violet -2
    (then leave ``f_decay`` out). Each clip and channel gets its own noise, made in the frequency domain (complex
    Gaussian bins scaled by f^(-beta / 2), flat below 20 Hz, no DC, ``torch.fft.irfft``), scaled so that the
    clip's RMS over the noise's RMS is ``10 ** (snr_db / 20)`` (RMS per channel, averaged over channels, as
    ``noise_snr``).

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"colored_noise": {"snr_db": 10, "color": "pink"}}], seed=0, sample_rate=16_000)
        >>> pipe(torch.randn(4, 1, 8000)).shape
        torch.Size([4, 1, 8000])
    """

    name = "colored_noise"
    domain = "audio"
    params = {
        "snr_db": RangeParam((3.0, 30.0)),
        "f_decay": RangeParam((-2.0, 2.0), low=-2.0, high=2.0),
        "color": ChoiceParam("random", ("random", *COLORS)),
    }
    dali_unsupported = "needs an inverse FFT to shape the noise's spectrum, which no DALI operator computes; use " \
                       "the torch backend"

    def __init__(self, given, context=BuildContext()):
        if isinstance(given, dict) and given.get("color", "random") != "random" and "f_decay" in given:
            raise fail(self.name, "f_decay", f"color {given['color']!r} fixes the decay; give either a color or an "
                                             "f_decay range (with color: random)")
        super().__init__(given, context)

    def validate(self):
        if not self.context.sample_rate:
            raise self.error(None, "needs the sample rate (its spectrum is flat below 20 Hz): "
                                   "build(spec, sample_rate=...)")

    def sample(self, key, u, rng, decl, d):
        if key == "f_decay" and self.cfg["color"] != "random":
            return u * 0.0 + COLORS[self.cfg["color"]]
        return super().sample(key, u, rng, decl, d)

    def apply(self, x, p, g):  # x: (B, C, T)
        noise = colored_noise(x.shape, p["f_decay"], g, FLAT_BELOW_HZ / self.context.sample_rate)
        level = rms(noise)
        gain = rms(x) / (10 ** (p["snr_db"] / 20) * torch.where(level > 0, level, 1.0))
        return x.addcmul_(noise, per_sample(torch.where(p["active"], gain, 0.0), x))


def colored_noise(shape: tuple[int, int, int], beta: torch.Tensor, g: torch.Generator, flat_below: float = 0.0
                  ) -> torch.Tensor:
    """(B, C, T) float32 noise with power spectral density ~ 1 / f^beta[b] above ``flat_below`` (a fraction of the
    sample rate), flat below it, and no DC, from ``g`` on beta's device.

    On CPU each sample draws a whole number of 64-bit words (see ``random16``), so a sample's noise depends only on
    where it starts in the generator's stream: a batch cut into tiles gets the same noise as the whole batch."""
    B, C, T = shape
    bins = T // 2 + 1
    used = 2 * C * bins
    z = standard_normal((B, -(-used // 4) * 4), g, beta.device)[:, :used]
    spectrum = torch.view_as_complex(z.reshape(B, C, bins, 2))  # (B, C, bins)
    k = torch.arange(bins, device=beta.device, dtype=torch.float32)  # f = k / T
    amplitude = torch.where(k > 0, k.clamp(min=max(1.0, flat_below * T)) ** (-beta[:, None] / 2), 0.0)  # (B, bins)
    return torch.fft.irfft(spectrum * amplitude[:, None, :], n=T)
