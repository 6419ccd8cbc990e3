"""The base class every transform derives from, and the registry that maps spec names to transforms.

A transform is one file under ``ops/``: it declares its parameters, and implements ``apply``. The engine
draws every declared range once per sample (plus the ``p`` gate) from one uniform tensor, so a transform
never touches the random generator for its scalar parameters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .draws import Draws, integers
from .params import NumberParam, Range, RangeParam, fail, parse_params

OPS: dict[str, type["Op"]] = {}

DOMAINS = {
    "any": "(B, ...) batches",
    "image": "(B, C, H, W) images with C = 1 or 3",
    "audio": "(B, C, T) waveforms",
    "spectrogram": "(B, C, F, T) spectrograms",
}
AXES = {"image": "CHW", "audio": "CT", "spectrogram": "CFT"}  # the axes after B


def register(cls: type["Op"]) -> type["Op"]:
    """Class decorator: make ``cls`` available in specs under ``cls.name``."""
    if cls.name in OPS:
        raise RuntimeError(f"two transforms are registered as '{cls.name}'")
    OPS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class BuildContext:
    """What a transform may need to know beyond its own keys."""

    sample_rate: int | None = None


Params = dict[str, torch.Tensor]


class Op(nn.Module):
    """One transform of a spec.

    A subclass sets ``name``, ``domain`` and ``params`` and implements ``apply``: the maths on the whole batch.
    ``apply(x, p, g)`` gets a float32 batch, the per-sample parameters ``p`` (``active`` (B,) bool plus one (B,)
    or (B, columns) tensor per declared range) and the pipeline's generator ``g`` for data-sized draws. It must
    leave samples whose ``active`` is False unchanged and must not synchronise with the host. Kernels that differ
    by device live in helpers that pick them (``percentiles``, ``random16``, ``shifts``, ``waveshaping``), so
    the op itself reads the same everywhere.

    ``in_place``: True (the default) lets ``apply`` overwrite ``x`` and return it. An op that never writes its
    input sets False: the pipeline then hands it the input as it is (no copy), and on CPU offers
    ``apply(x, p, g, out=...)`` a float32 tensor of ``x``'s shape that the result may be written into.

    Optional hooks, declared here with their defaults: ``validate`` (checks across keys), ``sample`` (how
    uniforms become values), ``prepare`` (values derived from the draws, once per call), ``fit`` / ``needs_fit``
    (ops that learn from training data), ``recordings`` / ``set_recordings`` (ops that take recorded audio),
    ``dali`` / ``dali_problem`` (the DALI backend). A batch op (``mixes_batch``) mixes samples and their targets
    with each other and implements ``mix`` instead of ``apply``.
    """

    name: ClassVar[str]
    domain: ClassVar[str]
    params: ClassVar[dict]
    geometric: ClassVar[bool] = False
    in_place: ClassVar[bool] = True
    default_p: ClassVar[float] = 1.0
    recordings: ClassVar[str | None] = None  # what ``set_recordings`` takes ("noise", "impulse_responses")
    mixes_batch: ClassVar[bool] = False  # a batch op (mixup, cutmix): ``mix`` instead of ``apply``
    key: str  # where this op's parameters live in ``Pipeline.last_params`` ("0.rotate"); set by the parser

    def __init__(self, given: dict | None, context: BuildContext = BuildContext()):
        super().__init__()
        self.cfg = parse_params(self.name, {**self.params, "p": NumberParam(self.default_p, 0.0, 1.0)}, given)
        self.context = context
        self.validate()

    def validate(self) -> None:
        """Checks that involve several keys or the build context; raise ``self.error(key, message)``."""

    def error(self, key: str | None, message: str):
        return fail(self.name, key, message)

    @property
    def ranges(self) -> list[tuple[str, Range, RangeParam]]:
        return [(k, self.cfg[k], d) for k, d in self.params.items() if isinstance(d, RangeParam)]

    def columns(self) -> int:
        """How many uniforms one sample consumes: the gate plus one per range column."""
        return 1 + sum(d.columns for _, _, d in self.ranges)

    def draw(self, d: Draws, active) -> Params:
        """Turn this op's uniforms (``d``: ``draws.TorchDraws`` or the DALI twin) into per-sample parameters."""
        out = {"active": active & (d.col(0) < self.cfg["p"])}
        col = 1
        for key, rng, decl in self.ranges:
            u = d.col(col) if decl.columns == 1 else d.block(col, decl.columns)
            out[key] = self.sample(key, u, rng, decl, d)
            col += decl.columns
        return out

    def sample(self, key: str, u, rng: Range, decl: RangeParam, d: Draws):
        """Map uniforms to values of one range: continuous, or whole numbers where declared."""
        return integers(d, u, rng.lo, rng.hi) if decl.integer else rng.at(u)

    def check_input(self, x: torch.Tensor) -> None:
        """Refuse a batch of the wrong layout, or whose samples are empty (no time steps, no pixels)."""
        if self.domain == "any":
            if x.dim() < 2:
                raise ValueError(f"augment: op '{self.name}' expects {DOMAINS['any']}; got shape {tuple(x.shape)}")
            return
        ok = x.dim() == (3 if self.domain == "audio" else 4)
        if self.domain == "image":
            ok = ok and x.shape[1] in (1, 3)
        if not ok:
            raise ValueError(f"augment: op '{self.name}' expects {DOMAINS[self.domain]}; got shape {tuple(x.shape)}")
        empty = [f"{axis} = 0" for axis, n in zip(AXES[self.domain], x.shape[1:]) if n == 0]
        if empty:  # an empty batch (B = 0) passes; empty samples would divide by zero in the ops
            raise ValueError(f"augment: op '{self.name}' got samples with {' and '.join(empty)} (shape "
                             f"{tuple(x.shape)}): zero-length clips and empty images cannot be augmented; drop "
                             "them or pad them to a length first")

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def mix(self, x: torch.Tensor, targets: torch.Tensor, partner_x: torch.Tensor, partner_targets: torch.Tensor,
            p: Params) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch op's work: mix each sample of ``x`` and its ``targets`` (B, K) with its partner (the batch
        before any batch op, rolled by one as torchvision does); active samples only."""
        raise NotImplementedError

    def prepare(self, p: Params, x: torch.Tensor) -> Params:
        """Per-sample values derived from the draws, computed once per call on the whole batch ``x`` before it
        is cut into CPU tiles (which then slice them: (B, ...) tensors). Default: the draws."""
        return p

    @property
    def needs_fit(self) -> bool:
        """Whether ``fit`` must see training data before the op can run."""
        return False

    def fit(self, x: torch.Tensor) -> None:
        """Learn from a batch of training inputs (float32, the op's domain). Default: nothing to learn."""

    @property
    def needs_recordings(self) -> bool:
        """Whether ``set_recordings`` must be called before the op can run."""
        return False

    def set_recordings(self, clips: list[torch.Tensor] | torch.Tensor) -> None:
        """Take the recorded audio the op draws from (its ``recordings`` kind), each clip (T,) or (1, T)."""
        raise TypeError(f"augment: op '{self.name}' takes no recordings")

    # ---- DALI backend --------------------------------------------------------------------------------
    dali_unsupported: ClassVar[str] = "has no DALI implementation"
    SPECTROGRAM_ONLY: ClassVar[str] = ("works on spectrograms, which the DALI backend does not take; apply it in the "
                                       "model (AudioNet does)")

    def dali(self, x, p: Params, ctx):
        """The op on DALI data nodes (images HWC float in [0, 1], audio (T,) float), for ``augment.dali``."""
        raise NotImplementedError

    def dali_problem(self) -> str | None:
        """``None`` if the DALI backend can run this op as configured, else why it cannot."""
        if type(self).dali is not Op.dali:
            return None
        return self.SPECTROGRAM_ONLY if self.domain == "spectrogram" else self.dali_unsupported

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.cfg.items())


def per_sample(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape a (B,) parameter to broadcast against ``x``: (B, 1, 1, ...)."""
    return v.reshape(v.shape[0], *([1] * (x.dim() - 1)))


class DeviceConstants:
    """Constant tensors copied to each device once, so the hot path never copies from the host."""

    def __init__(self, **tensors: torch.Tensor):
        self._host = tensors
        self._cache: dict[tuple, torch.Tensor] = {}

    def get(self, name: str, like: torch.Tensor) -> torch.Tensor:
        key = (name, like.device, like.dtype)
        if key not in self._cache:
            self._cache[key] = self._host[name].to(like.device, like.dtype)
        return self._cache[key]


def keep_inactive(active: torch.Tensor, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Samples that are not active keep their input exactly (``out`` is updated in place).

    On CPU only the inactive samples are copied (reading the mask costs no device sync there); on an
    accelerator a branch-free ``where`` avoids the host sync that indexing would need.
    """
    if out.device.type == "cpu":
        idle = (~active).nonzero()[:, 0]
        return out.index_copy_(0, idle, x.index_select(0, idle)) if idle.numel() else out
    return torch.where(per_sample(active, out), out, x)
