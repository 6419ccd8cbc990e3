"""The DALI backend: the same spec compiled into DALI operators, for use inside a ``pipeline_def``.

    from nvidia.dali import pipeline_def, fn
    from blackmagic import augment

    aug = augment.build(spec, backend="dali", seed=0)

    @pipeline_def(batch_size=256, num_threads=4, device_id=0)
    def images():
        jpegs, labels = fn.readers.file(file_root="train", shuffle_after_epoch=True, name="Reader")
        x = fn.decoders.image(jpegs, device="mixed")       # (H, W, 3) uint8
        return aug(x, channels=3), labels                    # (H, W, 3) float32, augmented per sample

Images are HWC (DALI's layout), uint8 or float in [0, 1] (``scale`` says which); audio is (T,) float. Every
sample gets fresh parameters on every iteration, drawn by the same formulas as the torch backend (see
``draws``), so the two backends' parameter distributions agree. Ops DALI cannot express fail at build time.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .geometry import compose
from .op import BuildContext
from .params import SpecError
from .program import compile_spec


class DaliDraws:
    """``draws.TorchDraws`` for DALI: ``u`` is a per-sample vector data node of uniforms in [0, 1)."""

    def __init__(self, u):
        self.u = u

    def col(self, j):
        return self.u[j]

    def block(self, j, k):
        return self.u[j : j + k]

    def skip(self, j):
        return _Offset(self, j)

    @staticmethod
    def floor(x):
        from nvidia.dali import math as dmath

        return dmath.floor(x)

    @staticmethod
    def clamp_max(x, hi):
        from nvidia.dali import math as dmath

        return dmath.min(x, float(hi))

    @staticmethod
    def to_float(mask):
        from nvidia.dali import fn, types

        return fn.cast(mask, dtype=types.FLOAT)

    @classmethod
    def where(cls, cond, a, b):
        f = cls.to_float(cond)
        return f * a + (1.0 - f) * b

    @staticmethod
    def cos(x):
        from nvidia.dali import math as dmath

        return dmath.cos(x)

    @staticmethod
    def sin(x):
        from nvidia.dali import math as dmath

        return dmath.sin(x)


class _Offset(DaliDraws):
    def __init__(self, base: DaliDraws, offset: int):
        self.base, self.offset = base, offset

    def col(self, j):
        return self.base.col(self.offset + j)

    def block(self, j, k):
        return self.base.block(self.offset + j, k)

    def skip(self, j):
        return _Offset(self.base, self.offset + j)


class DaliContext:
    """What a DALI op implementation needs: the math, the device, channel count, and fresh seeds."""

    math = DaliDraws

    def __init__(self, device: str, channels: int, seed: int | None, sample_rate: int | None):
        self.device, self.channels, self.sample_rate = device, channels, sample_rate
        self._seed = seed

    def seed(self) -> dict:
        """``seed=`` for the next random operator: distinct and fixed when the pipeline has a seed."""
        if self._seed is None:
            return {}
        self._seed += 1
        return {"seed": self._seed % 2**31}

    def keep_inactive(self, active, out, x):
        """Inactive samples keep their input exactly (an arithmetic blend with a 0/1 gate)."""
        a = self.math.to_float(active)
        return a * out + (1.0 - a) * x

    def size(self, x):
        """(height, width) of each image as float data nodes."""
        from nvidia.dali import fn, types

        shape = fn.cast(x.shape(), dtype=types.FLOAT)
        return shape[0], shape[1]

    def warp(self, x, ops):
        """Adjacent geometric ops as one ``warp_affine`` (bilinear, zero fill) about the image centre."""
        from nvidia.dali import fn, types

        height, width = self.size(x)
        inv, active = compose(ops, height, width, self.math)
        cx, cy = width * 0.5, height * 0.5  # DALI's pixel-centre coordinates put the centre at (W/2, H/2)
        zero = cx * 0.0
        a, b, c, d = (v + zero for v in (inv.a, inv.b, inv.c, inv.d))
        tx = cx - (a * cx + b * cy) + inv.tx
        ty = cy - (c * cx + d * cy) + inv.ty
        matrix = fn.reshape(fn.stack(a, b, tx, c, d, ty), shape=[2, 3])
        out = fn.warp_affine(x, matrix=matrix, fill_value=0.0, interp_type=types.INTERP_LINEAR, inverse_map=True)
        return self.keep_inactive(active, out, x)

    def run_in_torch(self, op, x, p):
        """An audio op's torch ``apply`` on the whole batch of (T,) clips inside the pipeline, with its drawn ranges
        (for ops no DALI operator can express, such as IIR filters). An in-place op gets a copy of DALI's buffer."""
        keys = [k for k, _, _ in op.ranges]

        def run(wave, active, *values):  # (B, T), (B,), (B,) or (B, columns) each
            params = {"active": active > 0.5, **dict(zip(keys, values))}
            wave = wave[:, None, :].clone() if op.in_place else wave[:, None, :]
            return op.apply(wave, params, None)[:, 0]

        return self.torch_fallback(run, x, self.math.to_float(p["active"]), *(p[k] for k in keys))

    def torch_fallback(self, fn_torch, x, *params):
        """Run a torch implementation on a whole batch inside the pipeline (for ops no DALI operator can
        express, such as per-sample percentiles). The samples must share one shape."""
        from nvidia.dali import fn

        def run_numpy(xs, *ps):
            import torch

            out = fn_torch(torch.from_numpy(np.stack(xs)), *(torch.from_numpy(np.stack(p)) for p in ps))
            return [o for o in out.numpy()]

        def run_dlpack(xs, *ps):
            import torch

            stack = lambda items: torch.stack([torch.from_dlpack(t) for t in items])  # noqa: E731
            out = fn_torch(stack(xs), *(stack(p) for p in ps))
            return [torch.utils.dlpack.to_dlpack(o) for o in out]

        if self.device == "gpu":
            return fn.dl_tensor_python_function(x, *params, function=run_dlpack, batch_processing=True,
                                                synchronize_stream=True, device="gpu")
        return fn.python_function(x, *params, function=run_numpy, batch_processing=True)


class DaliAugment:
    """A spec compiled for DALI. Call it on a data node inside a ``pipeline_def``.

    Args:
        spec: as for the torch backend.
        seed: fixes the random operators' seeds (otherwise they follow the pipeline's seed).
        sample_rate: for audio ops that work in seconds.
    """

    def __init__(self, spec: Any, seed: int | None = None, sample_rate: int | None = None):
        self.program = compile_spec(spec, BuildContext(sample_rate=sample_rate))
        problems = [f"op '{op.name}' {why}" for op in self.program.ops if (why := op.dali_problem())]
        if problems:
            raise SpecError("augment spec (DALI backend): " + "; ".join(problems))
        self.ops, self.domain = self.program.ops, self.program.domain
        self.seed, self.sample_rate = seed, sample_rate

    def __call__(self, x, channels: int = 3, scale: float | None = None, device: str | None = None,
                 return_params: bool = False):
        """Augment ``x`` (a DALI data node) per sample.

        Args:
            x: images (H, W, C) or audio (T,).
            channels: C of the images (1 or 3).
            scale: multiply the input by this first (default 1/255 for images, which DALI decodes to uint8;
                1 for audio). Pass 1.0 for float images already in [0, 1].
            device: ``"cpu"`` or ``"gpu"``, where ``x`` lives (default: ``x.device``).
            return_params: also return the drawn parameters (data nodes), for inspection and tests.
        """
        from nvidia.dali import fn, types

        if channels not in (1, 3):
            raise ValueError(f"augment (DALI backend): channels must be 1 or 3, got {channels}")
        ctx = DaliContext(device or getattr(x, "device", "cpu"), channels, self.seed, self.sample_rate)
        if scale is None:
            scale = 1 / 255 if self.domain in (None, "image") else 1.0
        x = fn.cast(x, dtype=types.FLOAT) * scale
        u = fn.random.uniform(range=[0.0, 1.0], shape=[max(1, self.program.columns)], **ctx.seed())
        params = self.program.root.draw(DaliDraws(u), u[0] < 2.0)  # every sample starts active
        for stage in self.program.stages:
            if stage.geometric:
                x = ctx.warp(x, [(op, params[op.key]) for op in stage.ops])
            else:
                x = stage.op.dali(x, params[stage.op.key], ctx)
        return (x, params) if return_params else x
