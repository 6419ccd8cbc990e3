"""Combinators turn a spec tree into per-sample gates for its leaves.

Every leaf op still runs once on the whole batch; a combinator only decides, per sample, which of its
children are active. So ``one_of`` over five ops costs five batched passes, never a Python loop over samples.
"""
from __future__ import annotations

import torch

from .op import Op, Params, integers
from .params import Range


class Node:
    """A spec item: an op (leaf) or a combinator over child nodes."""

    def columns(self) -> int:
        raise NotImplementedError

    def draw(self, u: torch.Tensor, active: torch.Tensor) -> dict[str, Params]:
        raise NotImplementedError

    def leaves(self) -> list[Op]:
        raise NotImplementedError


class Leaf(Node):
    def __init__(self, op: Op):
        self.op = op

    def columns(self):
        return self.op.columns()

    def draw(self, u, active):
        return {self.op.key: self.op.draw(u, active)}

    def leaves(self):
        return [self.op]


class Sequence(Node):
    """Children applied in order, each with its own ``p``."""

    def __init__(self, children: list[Node]):
        self.children = children

    def columns(self):
        return sum(c.columns() for c in self.children)

    def draw(self, u, active):
        return self._draw_children(u, [active] * len(self.children))

    def _draw_children(self, u, gates):
        out, col = {}, 0
        for child, gate in zip(self.children, gates):
            k = child.columns()
            out.update(child.draw(u[:, col : col + k], gate))
            col += k
        return out

    def leaves(self):
        return [op for c in self.children for op in c.leaves()]


class OneOf(Sequence):
    """With probability ``p``, exactly one child per sample, chosen with ``weights`` (uniform by default)."""

    def __init__(self, children, p: float = 1.0, weights: list[float] | None = None):
        super().__init__(children)
        w = torch.tensor(weights or [1.0] * len(children), dtype=torch.float64)
        self.edges = (w.cumsum(0) / w.sum())[:-1].tolist()
        self.p = p

    def columns(self):
        return 2 + super().columns()

    def draw(self, u, active):
        on = active & (u[:, 0] < self.p)
        choice = torch.zeros_like(u[:, 1], dtype=torch.long)
        for edge in self.edges:
            choice += (u[:, 1] >= edge).long()
        return self._draw_children(u[:, 2:], [on & (choice == i) for i in range(len(self.children))])


class SomeOf(Sequence):
    """With probability ``p``, a random subset of ``n`` children per sample (``n`` a whole number or a range),
    applied in spec order."""

    def __init__(self, children, n: Range, p: float = 1.0):
        super().__init__(children)
        self.n, self.p = n, p

    def columns(self):
        return 2 + len(self.children) + super().columns()

    def draw(self, u, active):
        k = len(self.children)
        on = active & (u[:, 0] < self.p)
        n = integers(u[:, 1], self.n.lo, self.n.hi)  # (B,)
        rank = u[:, 2 : 2 + k].argsort(1).argsort(1)  # (B, k): a random permutation per sample
        chosen = rank < n[:, None]
        return self._draw_children(u[:, 2 + k :], [on & chosen[:, i] for i in range(k)])
