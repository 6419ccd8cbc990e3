"""Any 2D image transform of ``kornia.augmentation``, by name, inside a spec, gated by our per-sample ``p``."""
from __future__ import annotations

import difflib
import hashlib
import inspect
from typing import Any

import kornia.augmentation as K
import torch
from kornia.augmentation._2d.mix.base import MixAugmentationBaseV2

from ..op import Op, Params, keep_inactive, register
from ..params import fail

BASES = {"AugmentationBase2D", "RigidAffineAugmentationBase2D", "GeometricAugmentationBase2D",
         "IntensityAugmentationBase2D"}
RESIZING = (K.Resize, K.CenterCrop, K.RandomCrop, K.RandomResizedCrop, K.PadTo)  # our ops keep the image size
OURS = ("p", "p_batch")  # the gate is the op's own p
PROBE = (3, 64, 64)  # one sample of the batches that tell Kornia's per-sample parameters from per-call ones
# Per-call entries that point at a row of the whole batch, re-pointed at a tile's first row: RandomMotionBlur
# draws one kernel size for the batch, repeats it per sample and reads it back from row ``idx``.
ROW_INDEX = {"RandomMotionBlur": "idx"}


def transforms() -> dict[str, type]:
    """The 2D image transforms of ``kornia.augmentation``, by class name."""
    return {n: c for n, c in vars(K).items() if inspect.isclass(c) and issubclass(c, K.AugmentationBase2D)
            and not issubclass(c, MixAugmentationBaseV2) and n not in BASES}


class ClassName:
    """The ``transform`` key: a class name, resolved against ``kornia.augmentation`` by the op."""

    default = None

    def parse(self, op: str, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise fail(op, key, "name a kornia.augmentation class, e.g. transform: RandomElasticTransform; "
                                f"got {value!r}")
        return value


class Arguments:
    """The ``args`` key: the class's keyword arguments, checked against its signature by the op."""

    default = None

    def parse(self, op: str, key: str, value: Any) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise fail(op, key, f"the class's arguments as a mapping, e.g. {{alpha: [1.0, 1.0]}}; got {value!r}")
        return value


@register
class Kornia(Op):
    """A ``kornia.augmentation`` class, run with its arguments at Kornia's ``p=1`` on the whole batch; our
    per-sample gate ``p`` decides which samples keep the result (the others stay exactly as they were).

    Spec: ``kornia: {transform: RandomElasticTransform, args: {alpha: [1.0, 1.0]}, p: 0.5}``

    Args (spec keys):
        transform: the class name in ``kornia.augmentation`` (2D image transforms that keep the image size).
        args: its keyword arguments (YAML lists become tuples); not ``p`` or ``p_batch``: the gate is ours.

    An unknown class (close names are listed), an argument the class does not take, a missing one, values Kornia
    refuses, 3D, mixing and resizing classes fail when the pipeline is built. The DALI backend refuses the op.
    A transform Kornia runs on colour images only (``RandomJPEG``, ``RandomHue``, ...) takes a grey image as three
    equal channels and gives back their mean.

    Kornia draws from torch's global generator, on the CPU (its default). Here each call draws inside
    ``torch.random.fork_rng`` with the CPU generator seeded from a hash of the pipeline's generator state (read
    on the host, so no sync on a GPU; the pipeline's generator is not advanced): the pipeline's seed fixes
    Kornia's draws, replaying ``last_params`` gives the same output, and torch's global generator is left as it
    was. The parameters Kornia drew sit in ``last_params[key]["kornia"]`` (``.params``: Kornia's own dict, for
    its ``params=`` argument). They are drawn once per call for the whole batch, so CPU tiles cut the same
    draws, unless an op with data-sized draws (``noise``, ...) comes first in the spec: it moves the generator
    state by tile. Classes that draw while they apply (Kornia names ``RandomDissolving``) draw per tile. On a
    GPU the parameters are still drawn on the CPU, and Kornia moves them to the images' device.

    Example:
        >>> from blackmagic import augment
        >>> pipe = augment.build([{"kornia": {"transform": "RandomPerspective", "args": {"distortion_scale": 0.3}}}],
        ...                      seed=0)
        >>> pipe(torch.rand(4, 3, 32, 32)).shape
        torch.Size([4, 3, 32, 32])
    """

    name = "kornia"
    domain = "image"

    params = {"transform": ClassName(), "args": Arguments()}

    def validate(self):
        name, args = self.cfg["transform"], self.cfg["args"]
        cls = self._resolve(name)
        signature = inspect.signature(cls)
        takes = [k for k, v in signature.parameters.items() if v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]
        for key in args:
            if key in OURS:
                raise self.error("args", f"'{key}' is this op's own gate: write kornia: {{transform: {name}, "
                                         f"p: ...}}; Kornia's transform always runs at p=1")
            if key not in takes and not any(v.kind == v.VAR_KEYWORD for v in signature.parameters.values()):
                raise self.error("args", f"{name} takes no argument '{key}'; it takes "
                                         f"{', '.join(k for k in takes if k not in OURS)}")
        missing = [k for k, v in signature.parameters.items() if v.default is v.empty and k not in args
                   and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]
        if missing:
            raise self.error("args", f"{name} needs {', '.join(missing)}")
        kwargs = {k: _tuples(v) for k, v in args.items()}
        try:
            with torch.random.fork_rng(devices=[]):  # building draws nothing from the user's generator
                torch.default_generator.manual_seed(0)
                self.kornia = cls(**kwargs, **({"p": 1.0} if "p" in takes else {}))
                small, large = (self.kornia.forward_parameters((n, *PROBE)) for n in (2, 3))
                out = self.kornia(torch.rand(2, *PROBE), params=small)
                self.colour_only = not _takes_grey(self.kornia)
        except Exception as e:  # Kornia raises TypeError, ValueError, ImportError, ... for bad arguments
            raise self.error("args", f"Kornia's {name}({_call(kwargs)}) failed: {type(e).__name__}: {e}") from None
        if out.shape != (2, *PROBE):
            raise self.error("transform", f"{name} turns (2, {', '.join(map(str, PROBE))}) images into "
                                          f"{tuple(out.shape)}; an op here keeps the image size")
        # Kornia's per-sample parameters grow with the batch; the others (e.g. ColorJiggle's order) are per call.
        self.per_sample = frozenset(k for k, v in small.items() if _rows_of(v) == 2 and _rows_of(large[k]) == 3)

    def _resolve(self, name: str) -> type:
        known = transforms()
        if name in known:
            if issubclass(known[name], RESIZING):
                raise self.error("transform", f"{name} changes the image size; an op here keeps it (resize or "
                                              "crop in the datamodule instead)")
            return known[name]
        found = getattr(K, name, None)
        if inspect.isclass(found) and issubclass(found, MixAugmentationBaseV2):
            raise self.error("transform", f"{name} mixes samples (and labels) of a batch; this op transforms each "
                                          "image alone (the mixup and cutmix ops mix a batch and its labels)")
        if inspect.isclass(found) and issubclass(found, K.AugmentationBase3D):
            raise self.error("transform", f"{name} transforms volumes (B, C, D, H, W); this op takes 2D images")
        if inspect.isclass(found) and issubclass(found, torch.nn.Module):
            raise self.error("transform", f"{name} is not a single 2D image augmentation; write each transform as "
                                          "its own kornia op")
        lower = {n.lower(): n for n in known}
        close = [n for n in lower if name.lower() in n]
        close += [n for n in difflib.get_close_matches(name.lower(), list(lower), n=5, cutoff=0.5) if n not in close]
        hint = f"; did you mean {', '.join(lower[n] for n in close[:5])}?" if close else ""
        raise self.error("transform", f"kornia.augmentation has no 2D image transform '{name}'{hint}")

    def _apply(self, fn, recurse=True):
        # Kornia's module moves its samplers along with it; keep them on the CPU, where the fork seeds them.
        out = super()._apply(fn, recurse)
        self.kornia.set_rng_device_and_dtype(torch.device("cpu"), torch.float32)
        return out

    def draw(self, d, active):
        out = super().draw(d, active)
        out["kornia"] = KorniaDraw(len(active))
        return out

    def apply(self, x: torch.Tensor, p: Params, g: torch.Generator) -> torch.Tensor:  # x: (B, C, H, W)
        if self.cfg["p"] == 0:
            return x
        draw = p["kornia"]
        grey = x.shape[1] == 1 and self.colour_only
        image = x.expand(-1, 3, -1, -1) if grey else x  # (B, 3, H, W) for a transform that takes colour only
        state = g.get_state().numpy().tobytes()  # a CPU copy of the generator's state, on any device: no sync
        with torch.random.fork_rng(devices=[]):
            if draw.params is None:
                torch.default_generator.manual_seed(_seed(state, self.key))
                shape = (draw.batch, *image.shape[1:])
                draw.fill(self.kornia.forward_parameters(shape), shape)
            torch.default_generator.manual_seed(_seed(state, self.key, draw.rows.start))  # draws while applying
            params = draw.for_tile(image, self.per_sample, self.cfg["transform"])
            try:
                y = self.kornia(image, params=params)
            except Exception as e:
                raise ValueError(f"augment: op 'kornia' ({self.cfg['transform']}) failed on a batch of shape "
                                 f"{tuple(x.shape)}: {type(e).__name__}: {e}") from e
        if grey:
            y = y.mean(1, keepdim=True)
        if y.shape != x.shape:
            raise ValueError(f"augment: op 'kornia': {self.cfg['transform']} turned images of shape {tuple(x.shape)} "
                             f"into {tuple(y.shape)}; an op here keeps the image size")
        return keep_inactive(p["active"], y, x)

    def dali_problem(self):
        return (f"runs Kornia's {self.cfg['transform']}, a torch module that no DALI operator performs; apply it "
                "with the torch backend on the DALI iterator's output")


class KorniaDraw:
    """Kornia's parameters for one call, drawn on first use for the whole batch; ``draw[rows]`` is a tile's view
    of the same draw (how the pipeline slices per-sample parameters for CPU tiles).

    ``params`` is Kornia's own dict for the whole batch (``None`` until drawn), for Kornia's ``params=``.
    """

    def __init__(self, batch: int, rows: slice | None = None, drawn: dict | None = None):
        self.batch = batch
        self.rows = slice(0, batch) if rows is None else rows
        self._drawn: dict[str, Any] = {} if drawn is None else drawn  # shared by every view: {"params": ...}

    @property
    def params(self) -> dict | None:
        return self._drawn.get("params")

    def fill(self, params: dict, shape: tuple[int, ...]) -> None:
        self._drawn.update(params=params, shape=tuple(shape))

    def __len__(self) -> int:
        return self.rows.stop - self.rows.start

    def __repr__(self) -> str:
        drawn = "not drawn" if self.params is None else ", ".join(
            f"{k} {tuple(v.shape)}" for k, v in self.params.items() if isinstance(v, torch.Tensor))
        return f"KorniaDraw(rows {self.rows.start}:{self.rows.stop} of {self.batch}; {drawn})"

    def __getitem__(self, rows: slice) -> "KorniaDraw":
        r = range(self.rows.start, self.rows.stop)[rows]
        if r.step != 1:
            raise IndexError("KorniaDraw: only contiguous row ranges")
        return KorniaDraw(self.batch, slice(r.start, r.stop), self._drawn)

    def for_tile(self, x: torch.Tensor, per_sample: frozenset, name: str) -> dict:
        """Kornia's dict for the rows of tile ``x``: per-sample entries sliced, per-call entries as drawn."""
        drawn = self._drawn["shape"][1:]
        if drawn != tuple(x.shape[1:]):
            raise ValueError(f"augment: op 'kornia' ({name}): parameters drawn for images of shape {drawn} cannot "
                             f"replay on images of shape {tuple(x.shape[1:])}")
        out = {k: v[self.rows] if k in per_sample else v for k, v in self.params.items()}
        out["forward_input_shape"] = torch.tensor(x.shape)
        if name in ROW_INDEX and len(self) < self.batch:
            out[ROW_INDEX[name]] = torch.zeros_like(out[ROW_INDEX[name]])
        return out


def _seed(state: bytes, *salt) -> int:
    """A 63-bit seed from a generator state and a salt (the op's key, a tile's first row)."""
    h = hashlib.blake2b(state, digest_size=8)
    h.update(repr(salt).encode())
    return int.from_bytes(h.digest(), "little") >> 1


def _takes_grey(transform) -> bool:
    """Whether a Kornia transform runs on one-channel images (some take colour images only)."""
    shape = (2, 1, *PROBE[1:])
    try:
        return transform(torch.rand(shape), params=transform.forward_parameters(shape)).shape == shape
    except Exception:  # Kornia's ShapeError, or a colour conversion's ValueError
        return False


def _rows_of(v) -> int | None:
    return v.shape[0] if isinstance(v, torch.Tensor) and v.dim() > 0 else None


def _tuples(v):
    """YAML lists as tuples, which Kornia's range arguments expect."""
    return tuple(_tuples(i) for i in v) if isinstance(v, list) else v


def _call(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
