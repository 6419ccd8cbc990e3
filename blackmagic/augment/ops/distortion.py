import torch

from ..audio import rms
from ..draws import integers
from ..op import Op, keep_inactive, per_sample, register
from ..params import ChoiceParam, RangeParam
from ..percentiles import percentiles


@register
class Distortion(Op):
    """Waveshaping distortion with a per-sample ``amount`` in [0, 1].

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

    def apply(self, x, p, g):  # x: (B, C, T)
        a = p["active"]
        if self.cfg["mode"] == "clip":
            lower = (p["amount"] * 100).round().div(2).floor()  # int(threshold / 2) in audiomentations
            lo, hi = percentiles(x.flatten(1).clone(), [lower, 100 - lower])
            inf = torch.full_like(lo, torch.inf)
            lo, hi = torch.where(a, lo, -inf), torch.where(a, hi, inf)
            return x.clamp_(per_sample(lo, x), per_sample(hi, x))
        scratch = x.abs()  # partitioned in place on CPU, then reused for the output
        (level,) = percentiles(scratch.flatten(1), [100 - 99 * p["amount"]], nonnegative=True)
        # tanh(g x) = 2 sigmoid(2 g x) - 1 (faster on CPU); y holds half of it until the gain that restores the RMS
        y = torch.mul(x, per_sample(1 / (level + 1e-6), x), out=scratch).sigmoid_().sub_(0.5)
        before = rms(x)
        post = torch.where(before > 1e-9, before / (2 * rms(y)), 1.0)
        if x.device.type != "cpu":
            return keep_inactive(a, y.mul_(per_sample(2 * post, x)), x)
        # On CPU the result goes straight into x (one pass, no new tensor); inactive samples are first copied
        # into y and multiplied by 1, which keeps them exactly.
        keep_inactive(a, y, x)
        return torch.mul(y, per_sample(torch.where(a, 2 * post, 1.0), x), out=x)

    def dali(self, x, p, ctx):  # x: (T,); no DALI operator computes a percentile, so this runs the torch code
        def run(wave, active, amount):  # (B, T), (B,), (B,)
            return self.apply(wave[:, None, :].clone(), {"active": active > 0.5, "amount": amount}, None)[:, 0]

        return ctx.torch_fallback(run, x, ctx.math.to_float(p["active"]), p["amount"])
