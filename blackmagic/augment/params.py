"""Declared op parameters: parsing, validation and per-sample sampling.

Every op declares its keys as ``Param`` objects. Parsing turns the user's YAML value into a validated
Python value and raises a ``SpecError`` that names the op and the key when the value is wrong.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch


class SpecError(ValueError):
    """An augmentation spec is invalid; the message names the op and the key."""


def fail(op: str, key: str | None, message: str) -> SpecError:
    where = f"op '{op}'" + (f", key '{key}'" if key else "")
    return SpecError(f"augment spec: {where}: {message}")


def _number(op: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(op, key, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise fail(op, key, f"expected a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Range:
    """A closed interval ``[lo, hi]`` sampled uniformly, one value per sample."""

    lo: float
    hi: float

    @property
    def fixed(self) -> bool:
        return self.lo == self.hi

    def at(self, u: torch.Tensor) -> torch.Tensor:
        """Map uniforms in [0, 1) to the range."""
        return u * (self.hi - self.lo) + self.lo


@dataclass(frozen=True)
class RangeParam:
    """A ``[lo, hi]`` range or a scalar.

    Args:
        default: the value used when the key is absent (scalar or pair).
        low, high: inclusive bounds every value must respect (``None`` = unbounded).
        scalar: how a scalar ``x`` is read: ``"fixed"`` → ``[x, x]``, ``"sym"`` → ``[-x, x]``,
            ``"factor"`` → ``[1 - x, 1 + x]``.
        columns: how many independent draws per sample (e.g. 3 for a per-channel shift).
    """

    default: Any
    low: float | None = None
    high: float | None = None
    scalar: str = "fixed"
    columns: int = 1
    integer: bool = False

    def parse(self, op: str, key: str, value: Any) -> Range:
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise fail(op, key, f"a range is [lo, hi] or a single value, got {list(value)!r}")
            lo, hi = (_number(op, key, v) for v in value)
        else:
            x = _number(op, key, value)
            if self.scalar == "sym":
                if x < 0:
                    raise fail(op, key, f"a scalar means [-x, x] and must be >= 0, got {x}")
                lo, hi = -x, x
            elif self.scalar == "factor":
                if x < 0:
                    raise fail(op, key, f"a scalar means [1 - x, 1 + x] and must be >= 0, got {x}")
                lo, hi = 1.0 - x, 1.0 + x
            else:
                lo, hi = x, x
        if lo > hi:
            raise fail(op, key, f"range [{lo:g}, {hi:g}] has lo > hi; write [lo, hi] with lo <= hi")
        if self.low is not None and lo < self.low:
            raise fail(op, key, f"range [{lo:g}, {hi:g}] goes below {self.low:g}; values must be >= {self.low:g}")
        if self.high is not None and hi > self.high:
            raise fail(op, key, f"range [{lo:g}, {hi:g}] goes above {self.high:g}; values must be <= {self.high:g}")
        if self.integer and (lo != int(lo) or hi != int(hi)):
            raise fail(op, key, f"range [{lo:g}, {hi:g}] must hold whole numbers")
        return Range(lo, hi)


@dataclass(frozen=True)
class NumberParam:
    default: float | int | None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    odd: bool = False

    def parse(self, op: str, key: str, value: Any) -> float | int | None:
        if value is None and self.default is None:
            return None
        x = _number(op, key, value)
        if self.integer and x != int(x):
            raise fail(op, key, f"expected a whole number, got {value!r}")
        if self.low is not None and x < self.low:
            raise fail(op, key, f"must be >= {self.low:g}, got {x:g}")
        if self.high is not None and x > self.high:
            raise fail(op, key, f"must be <= {self.high:g}, got {x:g}")
        if self.odd and int(x) % 2 == 0:
            raise fail(op, key, f"must be odd, got {int(x)}")
        return int(x) if self.integer else x


@dataclass(frozen=True)
class ChoiceParam:
    default: str
    options: Sequence[str]

    def parse(self, op: str, key: str, value: Any) -> str:
        if value not in self.options:
            raise fail(op, key, f"expected one of {', '.join(self.options)}; got {value!r}")
        return value


@dataclass(frozen=True)
class FlagParam:
    default: bool

    def parse(self, op: str, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise fail(op, key, f"expected true or false, got {value!r}")
        return value


def parse_params(op: str, declared: dict, given: Any) -> dict:
    """Validate ``given`` (a mapping from the spec) against ``declared`` and fill in defaults."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise fail(op, None, f"parameters must be a mapping like {{key: value}}, got {given!r}")
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise fail(op, unknown[0], f"unknown key; valid keys are {', '.join(sorted(declared))}")
    return {key: param.parse(op, key, given.get(key, param.default)) for key, param in declared.items()}
