"""``dl.nn.functional``'s padding and resizing: ``pad`` (constant, reflect, replicate, circular)
and ``interpolate`` (nearest, linear, bilinear), with torch's signatures and rules for output
sizes and source positions. Both are gathers (``index_select``) and blends of existing
differentiable ops, computed separably per dim, so gradients and every device come from those ops.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import _C
from .._C import Tensor
from ._dims import expand_tuple


def index_tensor(values: np.ndarray, like: Tensor) -> Tensor:
    return _C.tensor(values.astype(np.int64), dtype=_C.dtype.int64, device=like.device)


# ---- padding ----

def _pad_indices(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source positions of each output position along one dim for the non-constant modes."""
    positions = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    if mode == "circular":
        return positions % size
    period = 2 * (size - 1)  # reflect: mirror about the edges without repeating them
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= size, period - folded, folded)


def _pad_constant_dim(x: Tensor, dim: int, before: int, after: int, value: float) -> Tensor:
    if before < 0:
        x = x.narrow(dim, -before, x.shape[dim] + before)
    if after < 0:
        x = x.narrow(dim, 0, x.shape[dim] + after)
    pieces = []
    for amount in (max(before, 0), max(after, 0)):
        shape = list(x.shape)
        shape[dim] = amount
        pieces.append(_C.full(shape, value, dtype=x.dtype, device=x.device) if amount else None)
    parts = [p for p in (pieces[0], x, pieces[1]) if p is not None]
    return parts[0] if len(parts) == 1 else _C.cat(parts, dim)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:  # noqa: A002
    """Pads the last ``len(pad) // 2`` dims, last dim first (torch.nn.functional.pad); modes
    'constant' (negative amounts crop), 'reflect', 'replicate' and 'circular'."""
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.dim():
        raise ValueError(f"pad: padding length must be even and at most 2 * input.dim() = {2 * input.dim()}, "
                         f"got {len(pad)} for input {list(input.shape)}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (constant, reflect, replicate, circular)")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument")
    x = input
    for i in range(len(pad) // 2):
        dim, before, after = input.dim() - 1 - i, pad[2 * i], pad[2 * i + 1]
        if before == 0 and after == 0:
            continue
        if mode == "constant":
            x = _pad_constant_dim(x, dim, before, after, 0.0 if value is None else value)
            continue
        size = x.shape[dim]
        limit = size - 1 if mode == "reflect" else size
        if before > limit or after > limit or min(before, after) < 0:
            raise RuntimeError(f"pad: padding ({before}, {after}) is invalid for dim {dim} of size {size} "
                               f"in mode {mode!r} (input {list(input.shape)})")
        x = x.index_select(dim, index_tensor(_pad_indices(size, before, after, mode), x))
    return x


# ---- interpolation ----

def _output_size(input: Tensor, size: Any, scale_factor: Any, spatial: int) -> tuple[list[int], list[float | None]]:  # noqa: A002
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size or scale_factor must be defined")
    in_sizes = list(input.shape[2:])
    if size is not None:
        return list(expand_tuple(size, spatial, "interpolate: size")), [None] * spatial
    scales = [float(s) for s in (scale_factor if isinstance(scale_factor, (tuple, list)) else [scale_factor] * spatial)]
    if len(scales) != spatial:
        raise ValueError(f"interpolate: scale_factor must have {spatial} values for input {list(input.shape)}")
    return [int(math.floor(n * s)) for n, s in zip(in_sizes, scales)], scales


def _source_scale(in_size: int, out_size: int, scale: float | None, align_corners: bool) -> float:
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None else in_size / out_size


def _nearest_dim(x: Tensor, dim: int, out_size: int, scale: float | None) -> Tensor:
    in_size = x.shape[dim]
    step = _source_scale(in_size, out_size, scale, False)
    source = np.minimum(np.floor(np.arange(out_size) * step).astype(np.int64), in_size - 1)
    return x.index_select(dim, index_tensor(source, x))


def _linear_dim(x: Tensor, dim: int, out_size: int, scale: float | None, align_corners: bool) -> Tensor:
    in_size = x.shape[dim]
    step = _source_scale(in_size, out_size, scale, align_corners)
    dst = np.arange(out_size, dtype=np.float64)
    src = dst * step if align_corners else np.maximum((dst + 0.5) * step - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    shape = [1] * x.dim()
    shape[dim] = out_size
    frac = _C.tensor((src - low).astype(np.float32), device=x.device).reshape(shape).to(x.dtype)
    below, above = x.index_select(dim, index_tensor(low, x)), x.index_select(dim, index_tensor(high, x))
    return below + (above - below) * frac


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",  # noqa: A002
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resizes the spatial dims of [N, C, ...] (torch.nn.functional.interpolate): 'nearest' for any
    number of spatial dims, 'linear' (3-D input) and 'bilinear' (4-D input), separably per dim."""
    spatial = input.dim() - 2
    if spatial < 1:
        raise ValueError(f"interpolate: expected an input with at least 3 dims [N, C, ...], got {list(input.shape)}")
    linear_modes = {"linear": 1, "bilinear": 2}
    if mode not in ("nearest",) + tuple(linear_modes):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, linear, bilinear)")
    if mode in linear_modes and linear_modes[mode] != spatial:
        raise ValueError(f"interpolate: mode {mode!r} expects {linear_modes[mode] + 2}-D input, got {list(input.shape)}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    out_sizes, scales = _output_size(input, size, scale_factor, spatial)
    if recompute_scale_factor:
        scales = [None] * spatial
    x = input
    for i, (out_size, scale) in enumerate(zip(out_sizes, scales)):
        if mode == "nearest":
            x = _nearest_dim(x, 2 + i, out_size, scale)
        else:
            x = _linear_dim(x, 2 + i, out_size, scale, bool(align_corners))
    return x
