# The order in which an epoch visits a dataset, derived only from (seed, epoch) so that dlcore and
# the PyTorch baseline see the same batches and a resumed run continues the same sequence without
# saving any RNG state.
from __future__ import annotations

from typing import Iterator

import numpy as np


def epoch_order(n: int, epoch: int, seed: int, shuffle: bool) -> np.ndarray:
    """Index order (int64 [n]) of one epoch: a permutation from default_rng([seed, epoch]) or arange."""
    if n < 0:
        raise ValueError(f"epoch_order: dataset size must be >= 0, got {n}")
    if not shuffle:
        return np.arange(n, dtype=np.int64)
    if seed < 0 or epoch < 0:
        raise ValueError(f"epoch_order: seed and epoch must be >= 0, got seed={seed}, epoch={epoch}")
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int64, copy=False)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches `batch_indices` yields for `n` indices."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return n // batch_size if drop_last else -(-n // batch_size)


def batch_indices(order: np.ndarray, batch_size: int, drop_last: bool = False) -> Iterator[np.ndarray]:
    """Yield consecutive slices of `order` of `batch_size` indices; the last may be short unless drop_last."""
    count = num_batches(len(order), batch_size, drop_last)  # validates now, not at the first next()
    return (order[batch * batch_size:(batch + 1) * batch_size] for batch in range(count))
