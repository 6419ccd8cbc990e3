import torch

from ..audio import rms
from ..op import BuildContext, Op, Params, per_sample, register
from ..params import RangeParam


@register
class BackgroundNoise(Op):
    """Mix a random stretch of recorded noise into each clip at a per-sample SNR in dB (Speech Commands'
    ``_background_noise_`` recipe). The recordings are given once with ``pipeline.set_noise(clips)``.

    Spec: ``background_noise: {snr_db: [5, 20], p: 0.5}``
    """

    name = "background_noise"
    domain = "audio"
    params = {"snr_db": RangeParam((5.0, 20.0))}
    recordings = "noise"
    dali_unsupported = "needs its recordings (set_noise), which the DALI backend cannot hold; use the torch backend"

    def __init__(self, given, context=BuildContext()):
        super().__init__(given, context)
        self.register_buffer("bank", torch.empty(0))

    @property
    def needs_recordings(self) -> bool:
        return self.bank.numel() == 0

    def set_recordings(self, clips: list[torch.Tensor] | torch.Tensor) -> None:
        """Recordings (each (T,) or (1, T)) at the pipeline's sample rate, joined into one bank."""
        clips = [clips] if isinstance(clips, torch.Tensor) else clips
        self.bank = torch.cat([c.reshape(-1).float() for c in clips])

    def columns(self):
        return super().columns() + 1  # where in the bank each sample's noise starts

    def draw(self, d, active):
        out = super().draw(d, active)
        out["start"] = d.col(self.columns() - 1)
        return out

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, T)
        if self.needs_recordings:
            raise RuntimeError("augment: op 'background_noise' has no recordings: call pipeline.set_noise(clips)")
        T = x.shape[-1]
        bank = self.bank.to(x.device)
        if bank.numel() < T:
            raise ValueError(f"augment: op 'background_noise': the recordings hold {bank.numel()} samples, "
                             f"fewer than one clip ({T})")
        start = (p["start"] * (bank.numel() - T + 1)).long().clamp_(max=bank.numel() - T)
        noise = bank.unfold(0, T, 1)[start][:, None, :]  # (B, 1, T)
        gain = rms(x) / (10 ** (p["snr_db"] / 20) * rms(noise) + 1e-8)
        gain = torch.where(p["active"], gain, 0.0)
        return x.addcmul_(noise.expand_as(x), per_sample(gain, x))
