"""Tensor methods that take their target from another tensor (``view_as``, ``reshape_as``,
``type_as``) and ``dl.as_tensor``: thin compositions of existing ops, with torch's semantics."""
from __future__ import annotations

from typing import Any

from . import _C
from ._default_dtype import tensor

Tensor = _C.Tensor


def _view_as(self: Any, other: Any) -> Any:
    return self.view(other.shape)


def _reshape_as(self: Any, other: Any) -> Any:
    return self.reshape(other.shape)


def _type_as(self: Any, other: Any) -> Any:
    return self.to(other.dtype)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Any:
    """``data`` itself when it is already a tensor of that dtype and device (with its autograd
    history), else a converted tensor. Unlike torch, numpy arrays are copied, not shared."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if device is not None or dtype is not None else data
    return tensor(data, dtype=dtype, device=device)


def install_tensor_methods() -> None:
    """Adds view_as, reshape_as and type_as to Tensor (called once by dlcore/__init__)."""
    Tensor.view_as = _view_as
    Tensor.reshape_as = _reshape_as
    Tensor.type_as = _type_as
