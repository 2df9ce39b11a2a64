"""Grad-mode context managers (``dl.no_grad()``, ``dl.enable_grad()``), usable as decorators too."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from . import _C

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode:
    """Sets grad mode for a ``with`` block (or a decorated function) and restores it afterwards."""

    enabled: bool = False

    def __enter__(self) -> None:
        self._previous = _C.is_grad_enabled()
        _C.set_grad_enabled(self.enabled)

    def __exit__(self, *exc: object) -> None:
        _C.set_grad_enabled(self._previous)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Disables gradient recording, like ``torch.no_grad``."""

    enabled = False


class enable_grad(_GradMode):
    """Enables gradient recording inside a ``no_grad`` region, like ``torch.enable_grad``."""

    enabled = True
