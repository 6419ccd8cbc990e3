import torch

from ..beta import BetaMixOp
from ..op import Params, register
from ..params import NumberParam


@register
class CutMix(BetaMixOp):
    """CutMix: a box of each image is replaced by the same box of its neighbour in the batch, and the labels are
    mixed by the box's area, so the model must use the whole object (robust to occlusion, better localisation).

    As torchvision v2 ``CutMix``: the partner of sample ``i`` is sample ``i - 1``; ``lam ~ Beta(alpha, alpha)``;
    the box has its centre uniform over the image and half-sides ``int(0.5 * sqrt(1 - lam) * W)`` (and ``H``),
    clipped to the image; the targets are mixed with ``1 - box area / image area``. Here every sample draws its
    own ``lam`` and box. A batch op: it needs the targets, ``pipe(x, targets=...)``, and comes after every
    per-sample op of a spec.

    Spec: ``cutmix: {alpha: 1.0, p: 0.5}``
    """

    name = "cutmix"
    domain = "image"
    params = {"alpha": NumberParam(1.0, low=1e-3)}

    def columns(self):
        return super().columns() + 2  # and the box centre (x, y)

    def draw(self, d, active):
        return {**super().draw(d, active), "cx": d.col(2), "cy": d.col(3)}

    def mix(self, x, targets, partner_x, partner_targets, p: Params) -> tuple[torch.Tensor, torch.Tensor]:
        B, _, H, W = x.shape
        half = 0.5 * (1 - p["lam"]).clamp_min(0).sqrt()  # (B,)
        x1, x2 = _side(p["cx"], half, W)
        y1, y2 = _side(p["cy"], half, H)
        x1, x2 = torch.where(p["active"], x1, 0), torch.where(p["active"], x2, 0)  # inactive: an empty box
        cols = torch.arange(W, device=x.device)
        rows = torch.arange(H, device=x.device)
        inside = ((cols >= x1[:, None]) & (cols < x2[:, None]))[:, None, :] & \
                 ((rows >= y1[:, None]) & (rows < y2[:, None]))[:, :, None]  # (B, H, W)
        x = torch.where(inside[:, None], partner_x, x)
        kept = 1 - ((x2 - x1) * (y2 - y1)).to(targets.dtype) / (H * W)  # (B,)
        return x, torch.lerp(partner_targets, targets, kept[:, None])


def _side(u: torch.Tensor, half: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Box edges along one axis: centre ``randint(n)`` from ``u``, half-side ``int(half * n)``, clipped."""
    centre = (u * n).floor().clamp_(max=n - 1)
    r = (half * n).floor()
    return (centre - r).clamp_(min=0).long(), (centre + r).clamp_(max=n).long()
