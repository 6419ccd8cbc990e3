import torch
import torch.nn.functional as F

from .. import gaussian
from ..op import Op, Params, register
from ..params import NumberParam, RangeParam


@register
class Blur(Op):
    """For out-of-focus and soft images: Gaussian blur with a per-sample sigma (pixels), separable, reflect
    border: Kornia's ``gaussian_blur2d``. The kernel size defaults to ``2 * ceil(3 * sigma_max) + 1``.

    Spec: ``blur: {sigma: [0.1, 2.0], kernel_size: 13, p: 0.3}``
    """

    name = "blur"
    domain = "image"
    params = {
        "sigma": RangeParam((0.1, 2.0), low=0.0),
        "kernel_size": NumberParam(None, low=3, integer=True, odd=True),
    }

    def validate(self):
        if self.cfg["sigma"].lo <= 0:
            raise self.error("sigma", f"sigma must be > 0, got a range from {self.cfg['sigma'].lo:g}")
        if self.cfg["kernel_size"] is None:
            self.cfg["kernel_size"] = gaussian.kernel_size(self.cfg["sigma"].hi)

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, H, W)
        B, C, H, W = x.shape
        k = self.cfg["kernel_size"]
        r = k // 2
        if r >= H or r >= W:
            raise ValueError(f"augment: op 'blur': kernel_size {k} needs images larger than {r} pixels; got {H}x{W}")
        kernel = gaussian.kernels(p["sigma"], p["active"], k, x)  # (B, k)
        if max(H, W) <= 8 * k:  # small images: batched matmuls beat a depthwise conv (about 2x at 32x32)
            rows = (kernel @ self._reflect(H, k, x)).view(B, H, H)  # rows[b, i, j]: weight of input row j in i
            cols = (kernel @ self._reflect(W, k, x)).view(B, W, W)
            y = torch.bmm(x.reshape(B, C * H, W), cols.transpose(1, 2)).view(B, C, H, W)  # along W, one matmul
            return torch.stack([torch.bmm(rows, y[:, c]) for c in range(C)], 1)  # along H, per channel
        kernel = kernel.repeat_interleave(C, 0)  # (B*C, k)
        y = F.pad(x.reshape(1, B * C, H, W), (r, r, r, r), mode="reflect")
        y = F.conv2d(y, kernel.view(B * C, 1, 1, k), groups=B * C)  # along W
        y = F.conv2d(y, kernel.view(B * C, 1, k, 1), groups=B * C)  # along H
        return y.view(B, C, H, W)

    def _reflect(self, n: int, k: int, like: torch.Tensor) -> torch.Tensor:
        """(k, n * n) one-hot: entry (t, i * n + j) is 1 where tap t of output i reads input j, with a reflect
        border (cached); ``kernel @`` it gives every sample's (n, n) blur matrix in one matmul."""
        key = (n, k, like.device, like.dtype)
        cache = self.__dict__.setdefault("_reflect_cache", {})
        if key not in cache:
            pos = (torch.arange(n)[:, None] + torch.arange(k)[None, :] - k // 2).abs()
            pos = torch.where(pos > n - 1, 2 * (n - 1) - pos, pos)  # (n, k): input index of output i, tap t
            cache[key] = F.one_hot(pos, n).permute(1, 0, 2).reshape(k, n * n).to(like.device, like.dtype)
        return cache[key]

    def dali(self, x, p, ctx):  # x: (H, W, C); DALI's border is the same reflect-101 as torch's "reflect"
        from nvidia.dali import fn

        sigma = ctx.math.where(p["active"], p["sigma"], 1.0)
        out = fn.gaussian_blur(x, sigma=sigma, window_size=self.cfg["kernel_size"])
        return ctx.keep_inactive(p["active"], out, x)
