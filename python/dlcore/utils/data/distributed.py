"""``DistributedSampler``: each of ``num_replicas`` processes visits its own share of the dataset,
torch.utils.data.distributed's sampler with the same padding, dropping and per-epoch shuffling.

dlcore has no process groups, so unspecified ``num_replicas``/``rank`` come from the WORLD_SIZE and
RANK environment variables that launchers such as torchrun set, and default to a single process.
The shuffle is a permutation from ``dl.Generator().manual_seed(seed + epoch)``: every replica
computes the same one without communicating, as in torch (the numbers differ from torch's).
"""
from __future__ import annotations

import math
import os
from typing import Sized

import numpy as np

from ..._generator import Generator
from .sampler import _ArraySampler


def _from_environment(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"DistributedSampler: environment variable {name}={value!r} is not an integer") from None


class DistributedSampler(_ArraySampler):
    """The indices of ``dataset`` that replica ``rank`` of ``num_replicas`` visits: every
    ``num_replicas``-th index of the (shuffled) epoch order, padded by repeating indices so every
    replica gets as many (or cut to a multiple of ``num_replicas`` with ``drop_last``). Call
    ``set_epoch(epoch)`` before each epoch so the shuffle changes."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _from_environment("WORLD_SIZE", 1)
        if rank is None:
            rank = _from_environment("RANK", 0)
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.drop_last = drop_last
        size = len(dataset)
        if drop_last and size % self.num_replicas != 0:
            self.num_samples = math.ceil((size - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(size / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _index_array(self) -> np.ndarray:
        size = len(self.dataset)
        if self.shuffle:
            order = Generator().manual_seed(self.seed + self.epoch)._numpy.permutation(size).astype(np.int64)
        else:
            order = np.arange(size, dtype=np.int64)
        if not self.drop_last:
            padding = self.total_size - len(order)
            if padding > 0 and len(order) > 0:
                order = np.concatenate([order, np.resize(order, padding)])
        else:
            order = order[:self.total_size]
        if len(order) != self.total_size:
            raise AssertionError(f"DistributedSampler: {len(order)} indices for a total size of {self.total_size}")
        mine = order[self.rank:self.total_size:self.num_replicas]
        if len(mine) != self.num_samples:
            raise AssertionError(f"DistributedSampler: {len(mine)} indices for rank {self.rank}, expected "
                                 f"{self.num_samples}")
        return mine

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch that seeds the next shuffle (``seed + epoch``), as in torch."""
        self.epoch = epoch


__all__ = ["DistributedSampler"]
