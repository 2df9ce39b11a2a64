"""Grad-mode context managers (``dl.no_grad``, ``dl.enable_grad``, ``dl.inference_mode``), usable
as decorators too, with or without parentheses (``@dl.no_grad`` and ``@dl.no_grad()``), as in torch."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from . import _C

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode:
    """Sets grad mode for a ``with`` block (or a decorated function) and restores it afterwards."""

    enabled: bool = False

    def __new__(cls, orig_func: Callable[..., Any] | None = None) -> Any:
        # @dl.no_grad without parentheses passes the function itself: decorate it directly.
        if orig_func is not None and callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func: Callable[..., Any] | None = None) -> None:
        pass

    def __enter__(self) -> None:
        self._previous = _C.is_grad_enabled()
        _C.set_grad_enabled(self.enabled)

    def __exit__(self, *exc: object) -> None:
        _C.set_grad_enabled(self._previous)

    def clone(self) -> "_GradMode":
        return type(self)()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Disables gradient recording, like ``torch.no_grad``."""

    enabled = False


class enable_grad(_GradMode):
    """Enables gradient recording inside a ``no_grad`` region, like ``torch.enable_grad``."""

    enabled = True


class inference_mode(_GradMode):
    """``torch.inference_mode(mode=True)``: no gradient recording while ``mode`` is true.

    dlcore has no separate inference tensors: inside the block it behaves as ``no_grad`` (results
    never require grad), and ``inference_mode(False)`` leaves grad mode as it is.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode: Any = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self._previous = _C.is_grad_enabled()
        _C.set_grad_enabled(self._previous and not self.mode)

    def clone(self) -> "inference_mode":
        return inference_mode(self.mode)
