import torch

from ..draws import integers
from ..op import Op, Params, per_sample, register
from ..params import ChoiceParam, RangeParam
from ..percentiles import percentiles
from ..waveshaping import tanh_distortion


@register
class Distortion(Op):
    """For overdriven microphones and clipped recordings: waveshaping distortion with a per-sample ``amount``
    in [0, 1].

    ``mode: tanh`` is audiomentations ``TanhDistortion`` (amount = its ``distortion``: gain set from the
    ``100 - 99 * amount`` percentile of ``|x|``, tanh, then RMS restored). ``mode: clip`` is
    ``ClippingDistortion`` (amount = ``percentile_threshold / 100``, drawn in whole percent; half of it is
    clipped off each end).

    Spec: ``distortion: {mode: tanh, amount: [0.01, 0.7], p: 0.5}``
    """

    name = "distortion"
    domain = "audio"
    params = {
        "mode": ChoiceParam("tanh", ("tanh", "clip")),
        "amount": RangeParam((0.01, 0.7), low=0.0, high=1.0),
    }

    def sample(self, key, u, rng, decl, d):
        if self.cfg["mode"] == "clip":  # whole percents, like random.randint in ClippingDistortion
            return integers(d, u, round(rng.lo * 100), round(rng.hi * 100)) / 100
        return super().sample(key, u, rng, decl, d)

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, T)
        a = p["active"]
        if self.cfg["mode"] == "clip":
            lower = (p["amount"] * 100).round().div(2).floor()  # int(threshold / 2) in audiomentations
            lo, hi = percentiles(x.flatten(1).clone(), [lower, 100 - lower])
            inf = torch.full_like(lo, torch.inf)
            lo, hi = torch.where(a, lo, -inf), torch.where(a, hi, inf)
            return x.clamp_(per_sample(lo, x), per_sample(hi, x))
        return tanh_distortion(x, p["amount"], a)

    def dali(self, x, p, ctx):  # x: (T,); no DALI operator computes a percentile, so this runs the torch code
        return ctx.run_in_torch(self, x, p)
