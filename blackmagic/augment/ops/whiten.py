import torch
from kornia.enhance import zca_mean

from ..op import BuildContext, Op, Params, per_sample, register
from ..params import ChoiceParam, NumberParam, RangeParam


@register
class Whiten(Op):
    """For a net that should not lean on pixel correlations: whitening blended with the original by a per-sample
    ``strength`` (1 = fully whitened).

    ``mode: zca`` uses a ZCA transform fitted on training images (Kornia's ``zca_mean``; call
    ``pipeline.fit(train_images)`` once before use). ``mode: standardize`` gives each image zero mean and unit
    variance (the std is floored at ``1/sqrt(N)`` like ``tf.image.per_image_standardization``).

    Spec: ``whiten: {mode: zca, strength: [0.5, 1.0], eps: 1e-6}``
    """

    name = "whiten"
    domain = "image"
    params = {
        "mode": ChoiceParam("zca", ("zca", "standardize")),
        "strength": RangeParam(1.0, low=0.0, high=1.0),
        "eps": NumberParam(1e-6, low=0.0),
    }

    def __init__(self, given, context=BuildContext()):
        super().__init__(given, context)
        self.register_buffer("mean", torch.empty(0))
        self.register_buffer("transform", torch.empty(0))

    @property
    def fitted(self) -> bool:
        return self.transform.numel() > 0

    @property
    def needs_fit(self) -> bool:
        return self.cfg["mode"] == "zca" and not self.fitted

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> None:
        """Fit the ZCA transform on float images (N, C, H, W) in [0, 1]."""
        if self.cfg["mode"] != "zca":
            return
        if images.dim() != 4 or images.shape[0] < 2:
            raise ValueError(f"augment: op 'whiten' fits on (N, C, H, W) images with N >= 2; got {tuple(images.shape)}")
        transform, mean, _ = zca_mean(images.flatten(1).double(), dim=0, eps=self.cfg["eps"])
        self.transform = transform.float()
        self.mean = mean.float()

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, H, W)
        s = per_sample(torch.where(p["active"], p["strength"], 0.0), x)
        if self.cfg["mode"] == "standardize":
            flat = x.flatten(1)
            floor = flat.shape[1] ** -0.5
            mean = flat.mean(1)
            std = flat.std(1, correction=0).clamp(min=floor)
            white = (x - per_sample(mean, x)) / per_sample(std, x)
        else:
            if not self.fitted:
                raise RuntimeError("augment: op 'whiten' (mode zca) is not fitted: call pipeline.fit(train_images) first")
            if self.transform.shape[0] != x[0].numel():
                raise ValueError(
                    f"augment: op 'whiten' was fitted on images of {self.transform.shape[0]} values; "
                    f"got images of shape {tuple(x.shape[1:])}"
                )
            mean, transform = self.mean.to(x.device), self.transform.to(x.device)
            white = ((x.flatten(1) - mean) @ transform).view_as(x)
        return x.add_(s * (white - x))

    def dali_problem(self):
        if self.cfg["mode"] == "zca":
            return ("with mode zca: a fitted ZCA transform is a (C*H*W)^2 matrix product per image, which no DALI "
                    "operator performs; use mode: standardize, or the torch backend after the DALI iterator")
        return None

    def dali(self, x, p, ctx):  # x: (H, W, C); standardize only (see dali_problem)
        from nvidia.dali import fn, types
        from nvidia.dali import math as dmath

        shape = fn.cast(x.shape(), dtype=types.FLOAT)
        mean = fn.reductions.mean(x)
        std = fn.reductions.std_dev(x, mean)
        white = (x - mean) / dmath.max(std, dmath.rsqrt(shape[0] * shape[1] * shape[2]))
        s = ctx.math.where(p["active"], p["strength"], 0.0)
        return x + s * (white - x)
