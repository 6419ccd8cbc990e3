"""Combinators turn a spec tree into per-sample gates for its leaves.

Every leaf op still runs once on the whole batch; a combinator only decides, per sample, which of its
children are active. So ``one_of`` over five ops costs five batched passes, never a Python loop over samples.
"""
from __future__ import annotations

import torch

from .draws import Draws, integers
from .op import Op, Params
from .params import Range


class Node:
    """A spec item: an op (leaf) or a combinator over child nodes."""

    def columns(self) -> int:
        raise NotImplementedError

    def draw(self, d: Draws, active) -> dict[str, Params]:
        """Parameters of every leaf below, from this node's uniforms ``d`` (``draws.TorchDraws`` or DALI's)."""
        raise NotImplementedError

    def leaves(self) -> list[Op]:
        raise NotImplementedError


class Leaf(Node):
    def __init__(self, op: Op):
        self.op = op

    def columns(self):
        return self.op.columns()

    def draw(self, d, active):
        return {self.op.key: self.op.draw(d, active)}

    def leaves(self):
        return [self.op]


class Sequence(Node):
    """Children applied in order, each with its own ``p``."""

    def __init__(self, children: list[Node]):
        self.children = children

    def columns(self):
        return sum(c.columns() for c in self.children)

    def draw(self, d, active):
        return self._draw_children(d, [active] * len(self.children))

    def _draw_children(self, d, gates):
        out, col = {}, 0
        for child, gate in zip(self.children, gates):
            out.update(child.draw(d.skip(col), gate))
            col += child.columns()
        return out

    def leaves(self):
        return [op for c in self.children for op in c.leaves()]


class OneOf(Sequence):
    """With probability ``p``, exactly one child per sample, chosen with ``weights`` (uniform by default)."""

    def __init__(self, children, p: float = 1.0, weights: list[float] | None = None):
        super().__init__(children)
        w = torch.tensor(weights or [1.0] * len(children), dtype=torch.float64)
        self.edges = [0.0, *(w.cumsum(0) / w.sum())[:-1].tolist(), 2.0]  # child i owns [edges[i], edges[i+1])
        self.p = p

    def columns(self):
        return 2 + super().columns()

    def draw(self, d, active):
        on = active & (d.col(0) < self.p)
        pick = d.col(1)
        gates = [on & (pick >= lo) & (pick < hi) for lo, hi in zip(self.edges, self.edges[1:])]
        return self._draw_children(d.skip(2), gates)


class SomeOf(Sequence):
    """With probability ``p``, a random subset of ``n`` children per sample (``n`` a whole number or a range),
    applied in spec order."""

    def __init__(self, children, n: Range, p: float = 1.0):
        super().__init__(children)
        self.n, self.p = n, p

    def columns(self):
        return 2 + len(self.children) + super().columns()

    def draw(self, d, active):
        k = len(self.children)
        on = active & (d.col(0) < self.p)
        needed = integers(d, d.col(1), self.n.lo, self.n.hi)  # (B,) children still to choose
        gates = []
        for i in range(k):  # selection sampling: child i is taken with probability needed / (k - i)
            take = d.col(2 + i) * (k - i) < needed
            gates.append(on & take)
            needed = needed - d.to_float(take)
        return self._draw_children(d.skip(2 + k), gates)
