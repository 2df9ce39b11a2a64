"""Samplers of ``dlcore.utils.data``: the index orders a DataLoader visits, with torch's names,
arguments, validation and lengths.

The random ones draw from a ``dl.Generator`` when given one, else from a fresh generator seeded by
dlcore's global generator at each iteration (torch's behaviour), so ``dl.manual_seed`` fixes them.
They compute an epoch's indices as one numpy array (``_index_array``); iterating yields its
elements as Python ints, and the DataLoader slices the array directly when the sampler's
``__iter__`` is not overridden, which keeps index handling out of the per-batch cost.
"""
from __future__ import annotations

from typing import Any, Generic, Iterable, Iterator, Sequence, Sized, TypeVar

import numpy as np

from ..._C import Tensor
from ..._generator import Generator, _check_generator, _numpy_rng

T = TypeVar("T")


class Sampler(Generic[T]):
    """Base class: subclasses implement ``__iter__`` over indices (and ``__len__`` when known).
    As in torch 2.x it takes no constructor arguments."""

    def __iter__(self) -> Iterator[T]:
        raise NotImplementedError


class _ArraySampler(Sampler[int]):
    """A sampler whose epoch is one int64 array (see the module note)."""

    def _index_array(self) -> np.ndarray:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())


def _check_positive_int(value: Any, name: str, allow_bool: bool = False) -> None:
    # torch's RandomSampler takes num_samples=True as 1; its other samplers refuse bools.
    if (isinstance(value, bool) and not allow_bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _check_bool(value: Any, name: str, error: type) -> None:
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value}")


class SequentialSampler(_ArraySampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """A random permutation of the dataset (repeated and cut to ``num_samples`` when that differs),
    or ``num_samples`` draws with replacement."""

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = _check_generator(generator, "RandomSampler")
        _check_bool(replacement, "replacement", TypeError)
        if num_samples is not None:
            _check_positive_int(num_samples, "num_samples", allow_bool=True)
        elif len(data_source) <= 0:  # torch's num_samples check reads the dataset's length here
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={len(data_source)}")

    @property
    def num_samples(self) -> int:
        """``num_samples`` as given, else the dataset's length at the time of asking."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self) -> np.ndarray:
        size, count = len(self.data_source), self.num_samples
        rng = _numpy_rng(self.generator)
        if self.replacement:
            return rng.integers(0, size, size=count, dtype=np.int64)
        full, rest = divmod(count, size)
        parts = [rng.permutation(size) for _ in range(full)]
        if rest:
            parts.append(rng.permutation(size)[:rest])
        return np.concatenate(parts).astype(np.int64, copy=False) if parts else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_ArraySampler):
    """The given indices in a random order, without replacement."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = _check_generator(generator, "SubsetRandomSampler")

    def _index_array(self) -> np.ndarray:
        order = _numpy_rng(self.generator).permutation(len(self.indices))
        return np.asarray([self.indices[i] for i in order.tolist()], dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(_ArraySampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (which need not
    sum to one), with replacement unless ``replacement=False``."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        _check_positive_int(num_samples, "num_samples")
        _check_bool(replacement, "replacement", ValueError)
        weights_array = _as_float64(weights)
        if weights_array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights_array.shape)}")
        self.weights = weights_array
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = _check_generator(generator, "WeightedRandomSampler")

    def _index_array(self) -> np.ndarray:
        weights = self.weights
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0, inf or nan)")
        total = weights.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        positive = int(np.count_nonzero(weights))
        if not self.replacement and self.num_samples > positive:
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples without replacement "
                               f"from {positive} non-zero weights")
        rng = _numpy_rng(self.generator)
        return rng.choice(len(weights), size=self.num_samples, replace=self.replacement,
                          p=weights / total).astype(np.int64, copy=False)

    def __len__(self) -> int:
        return self.num_samples


def _as_float64(values: Any) -> np.ndarray:
    if isinstance(values, Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=np.float64)


class BatchSampler(Sampler[list]):
    """Groups another sampler's indices into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _check_positive_int(batch_size, "batch_size")
        _check_bool(drop_last, "drop_last", ValueError)
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        batch: list = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        count = len(self.sampler)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)


def _index_batches(batch_sampler: Any) -> Iterator[Any]:
    """What iterating ``batch_sampler`` gives, as int64 array slices when it is a plain BatchSampler
    over a sampler with an epoch array; otherwise the batch sampler's own lists."""
    if (type(batch_sampler).__iter__ is BatchSampler.__iter__ and isinstance(batch_sampler.sampler, _ArraySampler)
            and type(batch_sampler.sampler).__iter__ is _ArraySampler.__iter__):
        return _slices(batch_sampler.sampler._index_array(), batch_sampler.batch_size, batch_sampler.drop_last)
    return iter(batch_sampler)


def _slices(order: np.ndarray, batch_size: int, drop_last: bool) -> Iterator[np.ndarray]:
    count = len(order) // batch_size if drop_last else -(-len(order) // batch_size)
    return (order[b * batch_size:(b + 1) * batch_size] for b in range(count))


__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]
