"""The default floating-point dtype (``dl.set_default_dtype`` / ``dl.get_default_dtype``) and the
public factories that honour it: ``tensor``, ``zeros``, ``ones``, ``empty``, ``full``, ``rand``,
``randn`` and ``arange``.

The engine's bindings default to float32 wherever torch uses its default dtype; these wrappers fill
in the dtype the caller left out, with torch's rules: floating factories always use the default,
``full`` and ``arange`` only when a value is a float, and ``tensor`` infers from the data (Python
floats give the default dtype, ints int64, bools bool, numpy scalars and tensors their own dtype,
all promoted together). The default itself lives in the engine, which promotes with it: an integer
tensor meets a Python float, or goes through a floating op (``exp``, ``/``), in the default dtype.
dlcore's own modules call ``_C`` directly and are unaffected; Parameters stay float32 (the engine's
rule), so ``nn`` layers keep creating float32 weights.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _C

Tensor = _C.Tensor

_FLOATING = (_C.dtype.float16, _C.dtype.bfloat16, _C.dtype.float32, _C.dtype.float64)
_NUMPY_SCALARS = {np.dtype(np.bool_): _C.dtype.bool, np.dtype(np.uint8): _C.dtype.uint8,
                  np.dtype(np.int32): _C.dtype.int32, np.dtype(np.int64): _C.dtype.int64,
                  np.dtype(np.float16): _C.dtype.float16, np.dtype(np.float32): _C.dtype.float32,
                  np.dtype(np.float64): _C.dtype.float64}


def set_default_dtype(d: Any, /) -> None:
    """Makes ``d`` (float16, bfloat16, float32 or float64) the dtype of floating tensors created
    without an explicit dtype, like ``torch.set_default_dtype``."""
    if not isinstance(d, _C.dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type")
    if d not in _FLOATING:
        raise TypeError("only floating-point types are supported as the default type")
    _C._set_default_dtype(d)


def get_default_dtype() -> Any:
    """The current default floating-point dtype (float32 unless ``set_default_dtype`` changed it)."""
    return _C._get_default_dtype()


def _floating(dtype: Any) -> Any:
    return _C._get_default_dtype() if dtype is None else dtype


def _is_float_value(value: Any) -> bool:
    if isinstance(value, Tensor):
        return value.is_floating_point()
    return isinstance(value, (float, np.floating)) and not isinstance(value, bool)


# ---- tensor(): torch's dtype inference over Python data ----

class _Opaque(Exception):
    """The data holds something the scan does not type (leave inference to the engine)."""


def _leaf_dtype(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.dtype
    if isinstance(value, np.generic):  # before float: np.float64 subclasses float
        found = _NUMPY_SCALARS.get(value.dtype)
        if found is None:
            raise _Opaque
        return found
    if isinstance(value, bool):
        return _C.dtype.bool
    if isinstance(value, int):
        return _C.dtype.int64
    if isinstance(value, float):
        return _C._get_default_dtype()
    raise _Opaque


_PLAIN_LEAVES = (bool, int, float)  # exact types: the fast path of the scan


def _infer_dtype(data: Any) -> tuple[Any, bool]:
    """(dtype torch would give ``data``, whether it holds tensors); (None, _) where the scan cannot tell.
    The scan only collects the distinct leaf types; they are promoted together once at the end."""
    plain: set[type] = set()
    dtypes: set[Any] = set()
    holds_tensors = False
    stack = [data]
    try:
        while stack:
            item = stack.pop()
            kind = type(item)
            if kind in _PLAIN_LEAVES:
                plain.add(kind)
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
            else:
                dtypes.add(_leaf_dtype(item))
                holds_tensors = holds_tensors or isinstance(item, Tensor)
    except _Opaque:
        return None, holds_tensors
    dtypes.update(_leaf_dtype(kind()) for kind in plain)
    if not dtypes:  # no leaves at all: torch.tensor([])
        return _C._get_default_dtype(), holds_tensors
    found = dtypes.pop()
    for dtype in dtypes:
        found = _C.promote_types(found, dtype)
    return found, holds_tensors


def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copied from ``data`` (nested sequences, scalars, numpy arrays or tensors), with
    torch's dtype inference: Python floats become the default dtype."""
    holds_tensors = True
    if not isinstance(data, (Tensor, np.ndarray)):
        inferred, holds_tensors = _infer_dtype(data)
        dtype = inferred if dtype is None else dtype
    if dtype in _FLOATING and dtype != _C.dtype.float32 and not holds_tensors:
        # The engine reads Python floats as float32 before casting; numpy keeps their double values.
        try:
            data = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError):
            pass  # ragged or odd data: the engine raises its own error below
    return _C.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


# ---- factories whose floating results take the default dtype ----

def zeros(*size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
    """A tensor of zeros (the default dtype unless given)."""
    return _C.zeros(*size, dtype=_floating(dtype), **kwargs)


def ones(*size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
    """A tensor of ones (the default dtype unless given)."""
    return _C.ones(*size, dtype=_floating(dtype), **kwargs)


def empty(*size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
    """An uninitialised tensor (the default dtype unless given)."""
    return _C.empty(*size, dtype=_floating(dtype), **kwargs)


def rand(*size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
    """Uniform draws in [0, 1) (the default dtype unless given)."""
    return _C.rand(*size, dtype=_floating(dtype), **kwargs)


def randn(*size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
    """Standard normal draws (the default dtype unless given)."""
    return _C.randn(*size, dtype=_floating(dtype), **kwargs)


def full(size: Any, fill_value: Any, *, dtype: Any = None, **kwargs: Any) -> Tensor:
    """A tensor filled with ``fill_value``: the default dtype for a float fill, int64 for an int,
    bool for a bool, unless ``dtype`` is given."""
    if dtype is None and _is_float_value(fill_value):
        dtype = _C._get_default_dtype()
    return _C.full(size, fill_value, dtype=dtype, **kwargs)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, **kwargs: Any) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``: the default dtype when any of them
    is a float, int64 otherwise, unless ``dtype`` is given."""
    if dtype is None and any(_is_float_value(v) for v in (start, end, step)):
        dtype = _C._get_default_dtype()
    return _C.arange(start, end, step, dtype=dtype, **kwargs)


__all__ = ["set_default_dtype", "get_default_dtype", "tensor", "zeros", "ones", "empty", "rand", "randn", "full",
           "arange"]
