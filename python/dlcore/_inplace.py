"""In-place methods hand back the very tensor they were called on, as torch's do.

The engine's in-place methods (``add_``, ``zero_``, ``masked_fill_``, ``+=``, ...) change their tensor
and return it, but pybind11 wraps the returned C++ tensor in a new Python object, so
``x.add_(1) is x`` would be False and ``y = x; y += 1`` would rebind ``y`` to another wrapper. Rather
than every binding site handling this, one pass here rewraps each compiled in-place method of
``Tensor`` (a name ending in one underscore, or an augmented-assignment operator) to return ``self``.
Methods written in Python already return ``self`` and are left as they are.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from . import _C

_AUGMENTED = ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__",
              "__imatmul__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__")

_COMPILED = type(_C.Tensor.__dict__["numel"])  # pybind11's instancemethod (numel is never rewrapped)


def _returning_self(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def in_place(self: _C.Tensor, *args: Any, **kwargs: Any) -> Any:
        out = method(self, *args, **kwargs)
        return out if out is NotImplemented else self  # NotImplemented: Python tries the reflected operator
    return in_place


def in_place_method_names(cls: type = _C.Tensor) -> list[str]:
    """The compiled in-place methods of ``cls`` (those this module rewraps)."""
    return sorted(name for name, attr in vars(cls).items()
                  if isinstance(attr, _COMPILED)
                  and (name in _AUGMENTED or (name.endswith("_") and not name.startswith("_") and not name.endswith("__"))))


def install_tensor_methods() -> None:
    for name in in_place_method_names():
        setattr(_C.Tensor, name, _returning_self(getattr(_C.Tensor, name)))
