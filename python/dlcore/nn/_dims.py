"""Dimension bookkeeping shared by the nn composites: moving one dim with ``permute`` (a view, so
autograd flows through it) and torch's int-or-tuple size arguments."""
from __future__ import annotations

from typing import Any

from .._C import Tensor


def move_dim(x: Tensor, source: int, destination: int) -> Tensor:
    """``x`` with dim ``source`` moved to position ``destination`` (torch.movedim for one dim)."""
    n = x.dim()
    source, destination = source % n, destination % n
    order = [d for d in range(n) if d != source]
    order.insert(destination, source)
    return x if order == list(range(n)) else x.permute(order)


def expand_tuple(value: Any, n: int, what: str) -> tuple[int, ...]:
    """An int repeated ``n`` times, or a sequence of exactly ``n`` ints (torch's _ntuple)."""
    if isinstance(value, int):
        return (value,) * n
    values = tuple(value)
    if len(values) != n:
        raise ValueError(f"{what} must be an int or a sequence of {n} ints, got {value!r}")
    return values
