"""``dl.nn.functional``'s pooling beyond the C++ kernels' plain form: ``max_pool2d`` /
``avg_pool2d`` with ``ceil_mode``, ``count_include_pad`` and ``divisor_override`` (padding the input
so the C++ kernels compute torch's windows and divisors), ``max_pool1d`` (a height-1 max_pool2d)
and the adaptive pools (averaging matrices through GEMM; window maxima for the max).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _C
from .._C import Tensor
from .._C import functional as _F
from ._dims import expand_tuple
from .functional_resample import pad


# ---- pooling ----

def _averaging_matrix(in_size: int, out_size: int, like: Tensor) -> Tensor:
    """[in, out]: column j averages torch's adaptive window floor(j*in/out) .. ceil((j+1)*in/out)."""
    m = np.zeros((in_size, out_size), dtype=np.float32)
    for j in range(out_size):
        start, end = (j * in_size) // out_size, -((-(j + 1) * in_size) // out_size)
        m[start:end, j] = 1.0 / (end - start)
    return _C.tensor(m, device=like.device).to(like.dtype)


def _adaptive_output(input: Tensor, output_size: Any, op: str) -> tuple[int, int]:  # noqa: A002
    if input.dim() not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D or 4-D input, got {list(input.shape)}")
    sizes = expand_tuple(output_size, 2, f"{op}: output_size")
    h, w = input.shape[-2:]
    return tuple(h if s is None else int(s) for s, h in zip(sizes, (h, w)))  # type: ignore[return-value]


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average over torch's adaptive windows (torch.nn.functional.adaptive_avg_pool2d): two small
    GEMMs with averaging matrices, exact for any input and output size."""
    out_h, out_w = _adaptive_output(input, output_size, "adaptive_avg_pool2d")
    h, w = input.shape[-2:]
    lead = list(input.shape[:-2])
    rows = input.reshape([-1, w]) @ _averaging_matrix(w, out_w, input)          # [.. * h, out_w]
    cols = rows.reshape([-1, h, out_w]).transpose(1, 2).reshape([-1, h])
    out = cols @ _averaging_matrix(h, out_h, input)                           # [.. * out_w, out_h]
    return out.reshape([-1, out_w, out_h]).transpose(1, 2).reshape(lead + [out_h, out_w])


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:  # noqa: A002
    """Max over torch's adaptive windows (torch.nn.functional.adaptive_max_pool2d); with
    ``return_indices``, also the int64 flat index h * W + w of each maximum in its input plane."""
    out_h, out_w = _adaptive_output(input, output_size, "adaptive_max_pool2d")
    h, w = input.shape[-2:]
    if h % out_h == 0 and w % out_w == 0:
        return max_pool2d(input, (h // out_h, w // out_w), return_indices=return_indices)
    value_rows, index_rows = [], []
    for i in range(out_h):
        top, bottom = (i * h) // out_h, -((-(i + 1) * h) // out_h)
        band = input.narrow(-2, top, bottom - top)
        values, indices = [], []
        for j in range(out_w):
            left, right = (j * w) // out_w, -((-(j + 1) * w) // out_w)
            cell = band.narrow(-1, left, right - left)
            values.append(cell.amax([-2, -1]))
            if return_indices:  # the cell's row-major argmax, moved into the plane's coordinates
                local = cell.detach().flatten(-2).argmax(-1)
                indices.append((local // (right - left) + top) * w + local % (right - left) + left)
        value_rows.append(_C.stack(values, -1))
        if return_indices:
            index_rows.append(_C.stack(indices, -1))
    if return_indices:
        return _C.stack(value_rows, -2), _C.stack(index_rows, -2)
    return _C.stack(value_rows, -2)


def _ceil_extra(size: int, kernel: int, stride: int, padding: int) -> int:
    """Rows (or columns) to add past the far padding so a floor-mode pool yields ceil_mode's output
    size: torch's ceil((size + 2p - k) / s) + 1, minus the last window when it would start in the
    far padding."""
    span = size + 2 * padding - kernel
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return max((out - 1) * stride + kernel - (size + 2 * padding), 0)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch.nn.functional.max_pool2d over [N, C, H, W] or [C, H, W]; ``ceil_mode`` pads the far
    edges with -inf so the extra window, which always holds some input, takes its max from the
    input only. ``return_indices`` also returns, as torch does, the int64 flat index h * W + w of
    each maximum in its input plane."""
    if expand_tuple(dilation, 2, "max_pool2d: dilation") != (1, 1):
        raise NotImplementedError("max_pool2d: dilation other than 1 is not supported")
    stride = kernel_size if stride is None or stride == [] else stride
    if input.dim() not in (3, 4):
        raise ValueError(f"max_pool2d: expected a 3-D or 4-D input [N, C, H, W], got {list(input.shape)}")
    if input.dim() == 3:  # unbatched, as torch allows
        out = max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, 1, ceil_mode, return_indices)
        return (out[0].squeeze(0), out[1].squeeze(0)) if return_indices else out.squeeze(0)
    pool = _F.max_pool2d_with_indices if return_indices else _F.max_pool2d
    if not ceil_mode:
        return pool(input, kernel_size, stride, padding)
    k, s, p = (expand_tuple(v, 2, f"max_pool2d: {n}") for v, n in
               ((kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding")))
    extra = [_ceil_extra(input.shape[2 + d], k[d], s[d], p[d]) for d in range(2)]
    out = pool(pad(input, [0, extra[1], 0, extra[0]], value=-math.inf), k, s, p)
    if not return_indices or extra[1] == 0:
        return out
    values, indices = out  # indices count columns of the padded plane: back to the input's width
    width = input.shape[3]
    return values, (indices // (width + extra[1])) * width + indices % (width + extra[1])


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = True) -> Any:
    """torch.nn.functional.max_pool2d_with_indices: max_pool2d's (values, indices)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """torch.nn.functional.avg_pool2d: window sums over the zero-padded input divided by torch's
    divisor (the window clipped to the padded input, or to the input alone without
    ``count_include_pad``, or ``divisor_override``), computed as the ratio of two pools."""
    stride = kernel_size if stride is None or stride == [] else stride
    if not ceil_mode and count_include_pad and divisor_override is None:
        return _F.avg_pool2d(input, kernel_size, stride, padding)
    if input.dim() != 4:
        raise ValueError(f"avg_pool2d: expected a 4-D input [N, C, H, W], got {list(input.shape)}")
    k, s, p = (expand_tuple(v, 2, f"avg_pool2d: {n}") for v, n in
               ((kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding")))
    extra = [_ceil_extra(input.shape[2 + d], k[d], s[d], p[d]) if ceil_mode else 0 for d in range(2)]
    edges = [p[1], p[1] + extra[1], p[0], p[0] + extra[0]]
    window_means = _F.avg_pool2d(pad(input, edges), k, s, 0)
    if divisor_override is not None:
        return window_means * (k[0] * k[1] / divisor_override)
    ones = _C.ones([1, 1] + list(input.shape[2:]), dtype=input.dtype, device=input.device)
    counted = pad(ones, [p[1], p[1], p[0], p[0]], value=1.0) if count_include_pad else ones
    counted = pad(counted, edges if not count_include_pad else [0, extra[1], 0, extra[0]])
    return window_means / _F.avg_pool2d(counted, k, s, 0)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """max_pool2d over a height-1 view of [N, C, L] or [C, L] (torch.nn.functional.max_pool1d); the
    indices are positions along L."""
    k = expand_tuple(kernel_size, 1, "max_pool1d: kernel_size")[0]
    s = k if stride is None or stride == [] else expand_tuple(stride, 1, "max_pool1d: stride")[0]
    p = expand_tuple(padding, 1, "max_pool1d: padding")[0]
    if expand_tuple(dilation, 1, "max_pool1d: dilation")[0] != 1:
        raise NotImplementedError("max_pool1d: dilation other than 1 is not supported")
    if input.dim() not in (2, 3):
        raise ValueError(f"max_pool1d: expected a 2-D or 3-D input [N, C, L], got {list(input.shape)}")
    out = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), 1, ceil_mode, return_indices)
    return (out[0].squeeze(-2), out[1].squeeze(-2)) if return_indices else out.squeeze(-2)
