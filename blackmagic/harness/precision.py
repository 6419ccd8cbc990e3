"""A recipe's ``bf16-mixed`` where the hardware computes bfloat16, float32 where it would only emulate it.

bfloat16 autocast pays on GPUs with bf16 units (Ampere and newer) and on CPUs whose oneDNN has bf16 kernels
(AVX512-BF16, AMX). On an AVX2 CPU oneDNN has none: the default recipe's training step took 1.9 s in bf16-mixed
against 0.3 s in float32 (batch 256, two threads), so ``make train`` would have run for hours. There a recipe's
``bf16-mixed`` trains in ``32-true``, said once on the console and written to the run's ``config.yaml``.
"""
from __future__ import annotations

import torch

BF16 = ("bf16-mixed", "bf16", "bf16-true")
FALLBACK = "32-true"


def device_type(accelerator) -> str:
    """``cuda``, ``cpu`` or ``other``: where a trainer with this ``accelerator`` setting (a name or an
    ``Accelerator``) runs."""
    name = (accelerator if isinstance(accelerator, str) else type(accelerator).__name__).lower()
    if name in ("gpu", "cuda") or name.startswith("cuda") or (name == "auto" and torch.cuda.is_available()):
        return "cuda"
    return "cpu" if name in ("cpu", "auto", "cpuaccelerator") else "other"


def computes_bf16(device: str) -> bool:
    """Whether ``device`` (``cuda`` or ``cpu``) has bfloat16 kernels rather than emulating them."""
    if device == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch without the query: assume emulation
        return False


def native_precision(precision, accelerator) -> tuple[object, str | None]:
    """``(precision to train in, why it differs from the recipe's or None)``."""
    device = device_type(accelerator)
    if str(precision) not in BF16 or device == "other" or computes_bf16(device):
        return precision, None
    what = "this GPU" if device == "cuda" else f"this CPU ({torch.backends.cpu.get_cpu_capability()})"
    return FALLBACK, (f"precision {precision}: {what} has no bfloat16 kernels, so bf16 would be emulated several "
                      f"times slower than float32; training in {FALLBACK} (the run's config.yaml says so)")
