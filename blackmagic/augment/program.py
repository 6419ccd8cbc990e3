"""One compile step for both backends: a spec becomes a ``Program`` (the op tree, its ops, one kind of input, and
the stages to run), which the torch backend (``pipeline``) and the DALI backend (``dali``) execute.

A stage is data, not a closure: one op, or a run of adjacent geometric ops that share one resampling. So a
compiled pipeline pickles (spawn and forkserver DataLoader workers, ``ddp_spawn``), deep-copies and saves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .combinators import Node
from .op import BuildContext, Op
from .params import SpecError
from .spec import load_spec, parse, single_domain


@dataclass(frozen=True)
class Stage:
    """Ops that run as one step: a single op, or adjacent geometric ops composed into one resampling."""

    ops: tuple[Op, ...]

    @property
    def geometric(self) -> bool:
        return self.ops[0].geometric

    @property
    def op(self) -> Op:
        """The op of a single-op stage."""
        return self.ops[0]


@dataclass(frozen=True)
class Program:
    """A compiled spec: ``root`` draws every op's parameters, ``stages`` apply the per-sample ops in order, then
    ``batch_ops`` (mixup, cutmix) mix the finished samples and their targets across the batch."""

    root: Node
    ops: tuple[Op, ...]
    domain: str | None
    stages: tuple[Stage, ...]
    batch_ops: tuple[Op, ...] = ()

    @property
    def columns(self) -> int:
        """Uniforms one sample consumes per call (every gate and every range column of the whole tree)."""
        return self.root.columns()


def fuse(ops: list[Op] | tuple[Op, ...]) -> tuple[Stage, ...]:
    """Group the ops into stages: each op alone, except runs of adjacent geometric ops, which share one."""
    groups: list[list[Op]] = []
    for op in ops:
        if op.geometric and groups and groups[-1][0].geometric:
            groups[-1].append(op)
        else:
            groups.append([op])
    return tuple(Stage(tuple(g)) for g in groups)


def compile_spec(spec: Any, context: BuildContext = BuildContext()) -> Program:
    """Parse ``spec`` (list, YAML text or file), check it holds one kind of input, and plan its stages."""
    root = parse(load_spec(spec), context)
    ops = tuple(root.leaves())
    per_sample = tuple(op for op in ops if not op.mixes_batch)
    batch_ops = tuple(op for op in ops if op.mixes_batch)
    late = [op.name for op in per_sample if batch_ops and ops.index(op) > ops.index(batch_ops[0])]
    if late:
        raise SpecError(f"augment spec: op '{batch_ops[0].name}' mixes whole batches and must come after every "
                        f"per-sample op; move it (or the one_of holding it) after {', '.join(repr(n) for n in late)}")
    return Program(root, ops, single_domain(list(ops)), fuse(per_sample), batch_ops)
