"""``Tensor.__repr__``/``__str__`` in torch's print format.

``tensor([[1.0000, 2.5000], ...], dtype=..., requires_grad=True)``: values share one width and
one notation (fixed with 4 decimals; integer-valued floats as ``1.``; scientific when the
magnitudes span more than 1e3 or leave [1e-4, 1e8)), rows wrap at 80 columns, tensors with more
than 1000 elements show 3 edge items per dimension around ``...``, and the suffixes name what is
not the default (device, dtype, size of an empty tensor, grad_fn or requires_grad), wrapping to
a new line past 80 columns.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import _C

_PRECISION = 4
_THRESHOLD = 1000
_EDGE_ITEMS = 3
_LINE_WIDTH = 80
_DEFAULT_DTYPES = (_C.dtype.float32, _C.dtype.int64, _C.dtype.bool)


def _summarised(values: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows: the edge items of every long dimension."""
    for axis, size in enumerate(values.shape):
        if size > 2 * _EDGE_ITEMS:
            keep = list(range(_EDGE_ITEMS)) + list(range(size - _EDGE_ITEMS, size))
            values = np.take(values, keep, axis=axis)
    return values


def _float_formatter(shown: np.ndarray) -> Callable[[float], str]:
    """One notation for all the floats shown, chosen from the finite ones as torch chooses."""
    finite = np.abs(shown[np.isfinite(shown)]).astype(np.float64)
    nonzero = finite[finite != 0]
    integral = finite.size > 0 and bool(np.all(finite == np.ceil(finite)))
    scientific = False
    if nonzero.size > 0:
        largest, smallest = float(nonzero.max()), float(nonzero.min())
        scientific = largest / smallest > 1000.0 or largest > 1.0e8 or (not integral and smallest < 1.0e-4)

    def fmt(v: float) -> str:
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if scientific:
            return f"{v:.{_PRECISION}e}"
        return f"{v:.0f}." if integral else f"{v:.{_PRECISION}f}"
    return fmt


def _element_formatter(values: np.ndarray, floating: bool) -> tuple[Callable[[Any], str], int]:
    """The formatter of every element and the column width it pads to."""
    shown = _summarised(values) if values.size > _THRESHOLD else values
    if floating:
        base = _float_formatter(shown)
    elif values.dtype == np.bool_:
        base = lambda v: "True" if v else "False"  # noqa: E731
    else:
        base = lambda v: str(int(v))  # noqa: E731
    # torch sizes float columns by the nonzero finite values only (NaN, inf and 0 may stick out)
    measured = shown[np.isfinite(shown) & (shown != 0)] if floating else shown
    width = max((len(base(v)) for v in measured.reshape(-1).tolist()), default=1)
    return (lambda v: base(v).rjust(width)), width


def _format_rows(values: np.ndarray, fmt: Callable[[Any], str], width: int, indent: int, summarise: bool) -> str:
    if values.ndim == 0:
        return fmt(values.item())
    size = values.shape[0]
    elided = summarise and size > 2 * _EDGE_ITEMS
    index = list(range(_EDGE_ITEMS)) + [None] + list(range(size - _EDGE_ITEMS, size)) if elided else list(range(size))
    if values.ndim == 1:
        items = [" ..." if i is None else fmt(values[i].item()) for i in index]
        per_line = max(1, (_LINE_WIDTH - indent) // (width + 2))  # the padded width, as torch counts
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts = ["..." if i is None else _format_rows(values[i], fmt, width, indent + 1, summarise) for i in index]
    separator = "," + "\n" * (values.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def tensor_repr(t: Any) -> str:
    """torch's ``repr(tensor)`` for a dlcore tensor."""
    prefix = "tensor("
    detached = t.detach()
    floating = detached.is_floating_point()
    host = detached.cpu()
    if host.dtype in (_C.dtype.float16, _C.dtype.bfloat16):
        host = host.float()  # numpy has no bfloat16; both print through float32
    values = host.contiguous().numpy()
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if t.numel() == 0:
        body = "[]"
        if t.dim() != 1:
            suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype != _C.dtype.float32:
            suffixes.append(f"dtype={t.dtype}")
    else:
        summarise = t.numel() > _THRESHOLD
        fmt, width = _element_formatter(values, floating)
        body = _format_rows(values, fmt, width, len(prefix), summarise)
        if t.dtype not in _DEFAULT_DTYPES:
            suffixes.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, len(prefix))


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Appends ``, suffix`` items, each moving to a new indented line when it would pass the
    line width (torch's rule, which counts the last line from its newline plus one)."""
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _LINE_WIDTH:
            text += ",\n" + " " * indent + suffix
            last_line = indent + len(suffix)
        else:
            text += ", " + suffix
            last_line += len(suffix) + 2
    return text + ")"
