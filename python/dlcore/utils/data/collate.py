"""``default_collate`` and ``default_convert``: how a DataLoader turns samples into batches, with
torch's rules for which Python and numpy values become which dlcore tensors.

default_collate stacks tensors and numpy arrays along a new first dimension, turns Python floats
into float64, ints into int64 and bools into bool tensors, numpy scalars into tensors of their own
dtype (numpy float64 stays float64, as in torch), leaves strings and bytes as they are, and recurses
into dicts, namedtuples, tuples and lists (a batch of tuples becomes a list of collated fields).
Numpy arrays are stacked by numpy and converted once, rather than converted one by one and stacked.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Sequence

import numpy as np

from ... import _C

# numpy dtype kinds that have no tensor counterpart: byte strings, unicode strings, objects.
_STRING_OR_OBJECT_DTYPE = re.compile(r"[SaUO]")
_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _stack_tensors(batch: Sequence[Any]) -> Any:
    first = tuple(batch[0].shape)
    for position, tensor in enumerate(batch):
        if tuple(tensor.shape) != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and "
                               f"{list(tensor.shape)} at entry {position}")
    return _C.stack(list(batch), 0)


def _stack_arrays(batch: Sequence[np.ndarray]) -> Any:
    first = batch[0]
    if _STRING_OR_OBJECT_DTYPE.search(first.dtype.str) is not None:
        raise TypeError(_COLLATE_ERROR.format(first.dtype))
    for position, array in enumerate(batch):
        if array.shape != first.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first.shape)} at entry 0 "
                               f"and {list(array.shape)} at entry {position}")
    return _C.from_numpy(np.stack(batch))


def default_collate(batch: Sequence[Any]) -> Any:
    """Collates a list of samples into a batch (see the module note for the rules)."""
    elem = batch[0]
    if isinstance(elem, _C.Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        return _stack_arrays(batch)
    if isinstance(elem, (np.bool_, np.number)):
        return _C.from_numpy(np.asarray(batch))
    if isinstance(elem, float):
        return _C.tensor(list(batch), dtype=_C.dtype.float64)
    if isinstance(elem, int):  # bool included: torch.tensor of bools is a bool tensor
        return _C.tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(fields)
                return clone
            return type(elem)(fields)
        except TypeError:  # a mapping type that cannot be built from a dict
            return fields
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for position, column in enumerate(columns):
                    clone[position] = column
                return clone
            return type(elem)(columns)
        except TypeError:  # e.g. range: keep the columns as a list
            return columns
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Without batching (``batch_size=None``): numpy arrays and scalars become tensors, containers are
    converted element-wise, everything else is returned as it is."""
    if isinstance(data, _C.Tensor):
        return data
    if isinstance(data, np.ndarray):
        if _STRING_OR_OBJECT_DTYPE.search(data.dtype.str) is not None:
            return data
        return _C.from_numpy(data)
    if isinstance(data, (np.bool_, np.number)):
        return _C.from_numpy(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        fields = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update(fields)
                return clone
            return type(data)(fields)
        except TypeError:
            return fields
    if _is_namedtuple(data):
        return type(data)(*(default_convert(item) for item in data))
    if isinstance(data, tuple):
        return [default_convert(item) for item in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        items = [default_convert(item) for item in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for position, item in enumerate(items):
                    clone[position] = item
                return clone
            return type(data)(items)
        except TypeError:
            return items
    return data


__all__ = ["default_collate", "default_convert"]
