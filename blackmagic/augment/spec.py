"""Parse a spec (Python list, YAML text or YAML file) into a tree of ops and combinators."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .combinators import Leaf, Node, OneOf, SomeOf, Sequence
from .op import OPS, BuildContext
from .params import NumberParam, RangeParam, SpecError, _number, fail, parse_params

SPEC_KEYS = ("augment", "audio_augment", "spec_augment")
COMBINATORS = ("one_of", "some_of")


def load_spec(spec: Any) -> list:
    """Return the list form of a spec given as a list, a YAML string, or a path to a YAML file.

    A mapping is accepted when it holds exactly one of ``augment``, ``audio_augment`` or ``spec_augment``.
    """
    source = None
    if isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and spec.endswith((".yaml", ".yml"))):
        source = Path(spec)
        if not source.is_file():
            raise SpecError(f"augment spec: no such file: {source}")
        try:
            spec = yaml.safe_load(source.read_text())
        except yaml.YAMLError as e:
            raise SpecError(f"augment spec: {source} is not valid YAML: {e}") from None
    elif isinstance(spec, str):
        try:
            spec = yaml.safe_load(spec)
        except yaml.YAMLError as e:
            raise SpecError(f"augment spec: not valid YAML: {e}") from None
    where = f" in {source}" if source else ""
    if isinstance(spec, dict):
        found = [k for k in SPEC_KEYS if k in spec]
        if len(found) != 1:
            hint = "; write ops as a list: [{op: {params}}, ...]" if set(spec) & set(OPS) else ""
            raise SpecError(
                f"augment spec{where}: a mapping must hold exactly one of {', '.join(SPEC_KEYS)}; found {sorted(spec)}{hint}"
            )
        spec = spec[found[0]]
    if spec is None:
        spec = []
    if not isinstance(spec, list):
        raise SpecError(f"augment spec{where}: expected a list of {{op: {{params}}}} items, got {type(spec).__name__}")
    return spec


def single_domain(ops: list) -> str | None:
    """The one kind of input (image, audio, spectrogram) the ops work on; ``any`` for ops that take every kind
    (mixup) alone; ``None`` for no ops."""
    domains = {op.domain: op.name for op in ops if op.domain != "any"}
    if len(domains) > 1:
        mixed = ", ".join(f"'{name}' ({domain})" for domain, name in domains.items())
        raise SpecError(f"augment spec: one pipeline works on one kind of input; it mixes {mixed}")
    return next(iter(domains), "any" if ops else None)


def parse(items: list, context: BuildContext) -> Node:
    counter = iter(range(1 << 30))
    return Sequence([_item(it, context, counter) for it in items])


def _item(item: Any, context: BuildContext, counter) -> Node:
    if not isinstance(item, dict) or len(item) != 1:
        raise SpecError(f"augment spec: each item is a one-key mapping like {{rotate: {{degrees: 10}}}}, got {item!r}")
    (name, value), = item.items()
    if name == "one_of":
        cfg = _combinator(name, {"ops": value} if isinstance(value, list) else value, {"weights": _Passthrough()})
        children = [_item(it, context, counter) for it in cfg["ops"]]
        return OneOf(children, cfg["p"], _weights(cfg["weights"], len(children)))
    if name == "some_of":
        cfg = _combinator(name, value, {"n": RangeParam(1, low=0, integer=True)})
        children = [_item(it, context, counter) for it in cfg["ops"]]
        if cfg["n"].hi > len(children):
            raise fail(name, "n", f"cannot choose {cfg['n'].hi:g} of {len(children)} ops")
        return SomeOf(children, cfg["n"], cfg["p"])
    if name not in OPS:
        raise SpecError(f"augment spec: unknown op '{name}'; known ops are {', '.join(sorted(OPS) + list(COMBINATORS))}")
    op = OPS[name](value, context)
    op.key = f"{next(counter)}.{name}"  # where its parameters live in ``Pipeline.last_params``
    return Leaf(op)


def _weights(weights: Any, n: int) -> list[float] | None:
    """``one_of`` weights: one finite non-negative number per op, with a positive sum (``None``: uniform)."""
    if weights is None:
        return None
    if not isinstance(weights, (list, tuple)) or len(weights) != n:
        raise fail("one_of", "weights", f"need a list of {n} weights, one per op; got {weights!r}")
    values = [_number("one_of", "weights", w) for w in weights]
    if min(values) < 0 or sum(values) <= 0:
        raise fail("one_of", "weights", f"weights must be non-negative with a positive sum; got {weights!r}")
    return values


def _combinator(name: str, value: Any, extra: dict) -> dict:
    if not isinstance(value, dict) or "ops" not in value:
        raise fail(name, "ops", "write a list of items, or {ops: [...], p: ...}")
    ops = value["ops"]
    if not isinstance(ops, list) or not ops:
        raise fail(name, "ops", f"expected a non-empty list of items, got {ops!r}")
    return parse_params(name, {"ops": _Passthrough(), "p": NumberParam(1.0, 0.0, 1.0), **extra}, value)


class _Passthrough:
    """A combinator key checked by the combinator itself (its child list, its weights)."""

    default = None

    def parse(self, op, key, value):
        return value
