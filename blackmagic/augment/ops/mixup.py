import torch

from ..beta import BetaMixOp
from ..op import Params, per_sample, register
from ..params import NumberParam


@register
class Mixup(BetaMixOp):
    """mixup: each sample is blended with its neighbour in the batch, and so are their labels, so the model
    learns linear behaviour between classes (smoother, better calibrated, less overconfident).

    As torchvision v2 ``MixUp``: the partner of sample ``i`` is sample ``i - 1`` (the batch rolled by one) and
    ``x = lam * x + (1 - lam) * partner``, the targets likewise, with ``lam ~ Beta(alpha, alpha)``; here ``lam``
    is drawn per sample rather than once per batch, and a sample that is not active keeps ``lam = 1``. Works on
    any kind of batch (images, waveforms, spectrograms). A batch op: it needs the targets, ``pipe(x, targets=...)``
    with (B, num_classes) probabilities, and comes after every per-sample op of a spec.

    Spec: ``mixup: {alpha: 0.2, p: 0.5}``

    Example:
        >>> import torch, torch.nn.functional as F
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"mixup": {"alpha": 0.4}}], seed=0)
        >>> x, t = pipe(torch.rand(8, 3, 16, 16), targets=F.one_hot(torch.arange(8) % 4, 4).float())
        >>> t.shape
        torch.Size([8, 4])
    """

    name = "mixup"
    domain = "any"
    params = {"alpha": NumberParam(0.2, low=1e-3)}

    def mix(self, x, targets, partner_x, partner_targets, p: Params) -> tuple[torch.Tensor, torch.Tensor]:
        lam = torch.where(p["active"], p["lam"], 1.0)  # (B,)
        return torch.lerp(partner_x, x, per_sample(lam, x)), torch.lerp(partner_targets, targets, lam[:, None])
