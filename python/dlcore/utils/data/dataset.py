"""Dataset types of ``dlcore.utils.data`` with torch.utils.data's names and behaviour: map-style and
iterable datasets, their combinations (concatenation, subsets, chaining, stacking) and random_split.

Beyond torch, map-style wrappers pass batched fetches through: a Subset or ConcatDataset over
dlcore's in-memory image datasets still hands the DataLoader whole batches (``__getitems__`` and the
collated fast path of dlcore.data's datasets), so ``random_split(MNIST(...))`` keeps the fast path.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..._C import Tensor, from_numpy, index_select
from ..._generator import Generator, _check_generator, _numpy_rng


class Dataset:
    """A map-style dataset: subclasses implement ``__getitem__`` (and usually ``__len__``).

    ``dataset_a + dataset_b`` is their ConcatDataset. A subclass may also define
    ``__getitems__(indices) -> list of samples`` to fetch a whole batch at once (torch's protocol).
    """

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses implement ``__iter__``.

    With ``num_workers > 0`` every worker iterates its own copy; use ``get_worker_info()`` inside
    ``__iter__`` to give each worker its share, as in torch.
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Any) -> "ChainDataset":
        return ChainDataset([self, other])


def _batch_length(tensors: Sequence[Any]) -> int:
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"TensorDataset: argument {position} must be a dlcore Tensor, got {type(tensor).__name__}")
    sizes = [t.shape[0] if t.dim() > 0 else None for t in tensors]
    if None in sizes or len(set(sizes)) != 1:
        raise AssertionError(f"Size mismatch between tensors: first dimensions {[tuple(t.shape)[:1] for t in tensors]}")
    return sizes[0]


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension: ``ds[i] = (t0[i], t1[i], ...)``."""

    def __init__(self, *tensors: Any) -> None:
        self.tensors = tensors
        self._length = _batch_length(tensors) if tensors else 0

    def __getitem__(self, index: Any) -> tuple:
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return self._length

    def _getitems_collated(self, indices: Any) -> list:
        # What default_collate makes of [self[i] for i in indices] (a list of stacked columns), in one
        # gather per tensor instead of a view per sample and a stack.
        index = from_numpy(np.asarray(indices, dtype=np.int64))
        return [index_select(tensor, 0, index.to(tensor.device)) for tensor in self.tensors]


class StackDataset(Dataset):
    """Samples of several equal-length datasets side by side: a tuple (positional) or a dict (keywords)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like input/"
                             "output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        self.datasets: Any = args if args else kwargs
        parts = list(args) if args else list(kwargs.values())
        lengths = {len(part) for part in parts}
        if len(lengths) != 1:
            raise ValueError(f"Size mismatch between datasets: lengths {[len(part) for part in parts]}")
        self._length = lengths.pop()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __getitems__(self, indices: list) -> list:
        if isinstance(self.datasets, dict):
            columns = {key: _fetch_many(dataset, indices) for key, dataset in self.datasets.items()}
            return [{key: column[i] for key, column in columns.items()} for i in range(len(indices))]
        columns = [_fetch_many(dataset, indices) for dataset in self.datasets]
        return [tuple(column[i] for column in columns) for i in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def _fetch_many(dataset: Any, indices: list) -> list:
    """``[dataset[i] for i in indices]``, through the dataset's ``__getitems__`` when it has one."""
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        samples = getitems(indices)
        if len(samples) != len(indices):
            raise ValueError(f"{type(dataset).__name__}.__getitems__ returned {len(samples)} samples for "
                             f"{len(indices)} indices")
        return samples
    return [dataset[i] for i in indices]


class ConcatDataset(Dataset):
    """Datasets one after another: index ``i`` falls in the dataset whose cumulative size passes it."""

    datasets: list
    cumulative_sizes: list

    @staticmethod
    def cumsum(sequence: Iterable[Any]) -> list:
        """Running totals of the datasets' lengths."""
        return list(itertools.accumulate(len(dataset) for dataset in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, index: int) -> tuple[int, int]:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index = len(self) + index
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {len(self)}")
        return part, index - (self.cumulative_sizes[part - 1] if part > 0 else 0)

    def __getitem__(self, index: int) -> Any:
        part, offset = self._locate(index)
        return self.datasets[part][offset]

    def __getitems__(self, indices: list) -> list:
        # Group the batch by part so each part fetches its share in one call, then restore the order.
        located = [self._locate(i) for i in indices]
        samples: list = [None] * len(indices)
        for part in sorted({p for p, _ in located}):
            positions = [k for k, (p, _) in enumerate(located) if p == part]
            fetched = _fetch_many(self.datasets[part], [located[k][1] for k in positions])
            for position, sample in zip(positions, fetched):
                samples[position] = sample
        return samples


class ChainDataset(IterableDataset):
    """Iterable datasets one after another, lazily (what ``iterable_a + iterable_b`` builds)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from dataset

    def __len__(self) -> int:
        total = 0
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(dataset)
        return total


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list) -> list:
        return _fetch_many(self.dataset, [self.indices[i] for i in indices])

    @property
    def _getitems_collated(self) -> Callable[[Any], Any] | None:
        # The underlying dataset's collated fast path, behind this subset's index map (None when it has none).
        inner = getattr(self.dataset, "_getitems_collated", None)
        if inner is None:
            return None
        mapping = np.asarray(self.indices, dtype=np.int64)
        return lambda indices: inner(mapping[np.asarray(indices, dtype=np.int64)])

    def __len__(self) -> int:
        return len(self.indices)


def _split_lengths(total: int, lengths: Sequence[int | float]) -> list:
    """Lengths as given, or fractions of ``total`` turned into counts as torch does (floors, then the
    remainder one by one round-robin from the first split)."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for position, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"Fraction at index {position} is not between 0 and 1")
            counts.append(int(math.floor(total * fraction)))
        for position in range(total - sum(counts)):
            counts[position % len(counts)] += 1
        for position, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {position} is 0. This might result in an empty dataset.")
        return counts
    return list(lengths)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Non-overlapping random Subsets of the given lengths (or fractions of ``len(dataset)``).

    The permutation comes from ``generator``, or (as torch's default generator) from a generator
    seeded by dlcore's global one, so ``dl.manual_seed`` fixes the split.
    """
    generator = _check_generator(generator, "random_split")
    counts = _split_lengths(len(dataset), lengths)
    if sum(counts) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in counts):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions summing to 1, "
                         f"got {list(lengths)}")
    order = _numpy_rng(generator).permutation(sum(counts)).tolist()
    ends = list(itertools.accumulate(counts))
    return [Subset(dataset, order[end - count:end]) for end, count in zip(ends, counts)]


__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split"]
