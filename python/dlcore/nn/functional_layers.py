"""The layer functions of ``dl.nn.functional`` that are compositions of existing differentiable C++
ops rather than kernels of their own (layer_norm has a fused CPU kernel and composes on CUDA): padding, interpolation, adaptive pooling, layer and group
norm, embedding, conv1d / conv_transpose2d (lowered onto conv2d), one_hot, normalize, dropout2d and
softmax over any dim. Signatures, defaults and errors are torch.nn.functional's; gradients come from
the ops they are made of (index_select, cat, matmul, pointwise, reductions).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import _C
from .._C import Tensor
from .._C import functional as _F
from ._dims import expand_tuple, move_dim


def _index(values: np.ndarray, like: Tensor) -> Tensor:
    return _C.tensor(values.astype(np.int64), dtype=_C.dtype.int64, device=like.device)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:  # noqa: A002
    """softmax over ``dim`` (torch.nn.functional.softmax); the kernel runs over the last dim."""
    x = input if dtype is None else input.to(dtype)
    dim = -1 if dim is None else dim
    if not -x.dim() <= dim < x.dim() or dim % x.dim() == x.dim() - 1:
        return _F.softmax(x, dim)  # the last dim, or a bad one for the kernel's own error
    return move_dim(_F.softmax(move_dim(x, dim, -1), -1), -1, dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:  # noqa: A002
    """log_softmax over ``dim`` (torch.nn.functional.log_softmax)."""
    x = input if dtype is None else input.to(dtype)
    dim = -1 if dim is None else dim
    if not -x.dim() <= dim < x.dim() or dim % x.dim() == x.dim() - 1:
        return _F.log_softmax(x, dim)  # the last dim, or a bad one for the kernel's own error
    return move_dim(_F.log_softmax(move_dim(x, dim, -1), -1), -1, dim)


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
        x = x.index_select(dim, _index(_pad_indices(size, before, after, mode), x))
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
    return x.index_select(dim, _index(source, x))


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
    below, above = x.index_select(dim, _index(low, x)), x.index_select(dim, _index(high, x))
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


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:  # noqa: A002
    """Max over torch's adaptive windows (torch.nn.functional.adaptive_max_pool2d)."""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: return_indices=True is not supported")
    out_h, out_w = _adaptive_output(input, output_size, "adaptive_max_pool2d")
    h, w = input.shape[-2:]
    if h % out_h == 0 and w % out_w == 0 and input.dim() == 4:
        return _F.max_pool2d(input, (h // out_h, w // out_w))
    rows = []
    for i in range(out_h):
        top, bottom = (i * h) // out_h, -((-(i + 1) * h) // out_h)
        band = input.narrow(-2, top, bottom - top)
        cells = [band.narrow(-1, (j * w) // out_w, -((-(j + 1) * w) // out_w) - (j * w) // out_w).amax([-2, -1])
                 for j in range(out_w)]
        rows.append(_C.stack(cells, -1))
    return _C.stack(rows, -2)


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
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """torch.nn.functional.max_pool2d; ``ceil_mode`` pads the far edges with -inf so the extra
    window, which always holds some input, takes its max from the input only."""
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    if expand_tuple(dilation, 2, "max_pool2d: dilation") != (1, 1):
        raise NotImplementedError("max_pool2d: dilation other than 1 is not supported")
    stride = kernel_size if stride is None or stride == [] else stride
    if not ceil_mode or input.dim() != 4:
        return _F.max_pool2d(input, kernel_size, stride, padding)
    k, s, p = (expand_tuple(v, 2, f"max_pool2d: {n}") for v, n in
               ((kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding")))
    extra = [_ceil_extra(input.shape[2 + d], k[d], s[d], p[d]) for d in range(2)]
    padded = pad(input, [0, extra[1], 0, extra[0]], value=-math.inf)
    return _F.max_pool2d(padded, k, s, p)


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


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:  # noqa: A002
    """max_pool2d over a height-1 view of [N, C, L] (torch.nn.functional.max_pool1d)."""
    k = expand_tuple(kernel_size, 1, "max_pool1d: kernel_size")[0]
    s = k if stride is None or stride == [] else expand_tuple(stride, 1, "max_pool1d: stride")[0]
    p = expand_tuple(padding, 1, "max_pool1d: padding")[0]
    if input.dim() != 3:
        raise ValueError(f"max_pool1d: expected a 3-D input [N, C, L], got {list(input.shape)}")
    return _F.max_pool2d(input.unsqueeze(2), (1, k), (1, s), (0, p)).squeeze(2)


# ---- normalisation ----

def _fused_layer_norm_applies(input: Tensor, weight: Tensor | None, bias: Tensor | None) -> bool:  # noqa: A002
    """The fused C++ kernel covers float32 on the CPU; CUDA and other dtypes compose ops instead."""
    return all(t is None or (t.dtype == _C.dtype.float32 and not t.is_cuda) for t in (input, weight, bias))


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalises over the trailing ``normalized_shape`` dims (torch.nn.functional.layer_norm);
    biased variance, as torch. float32 CPU inputs run the fused C++ kernel (forward and backward);
    elsewhere (CUDA, float64, 16-bit) the same math is composed of differentiable ops."""
    shape = tuple(expand_tuple(normalized_shape, 1, "layer_norm") if isinstance(normalized_shape, int)
                  else normalized_shape)
    if tuple(input.shape[input.dim() - len(shape):]) != shape or len(shape) > input.dim():
        raise RuntimeError(f"layer_norm: normalized_shape {list(shape)} does not match the trailing dims of "
                           f"input {list(input.shape)}")
    if _fused_layer_norm_applies(input, weight, bias):
        return _F.layer_norm(input, list(shape), weight, bias, eps)
    dims = list(range(input.dim() - len(shape), input.dim()))
    mean = input.mean(dims, keepdim=True)
    centered = input - mean
    out = centered * ((centered * centered).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out + bias if bias is not None else out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,  # noqa: A002
               eps: float = 1e-5) -> Tensor:
    """Normalises each group of channels of [N, C, ...] (torch.nn.functional.group_norm)."""
    if input.dim() < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected input [N, C, ...] with C divisible by num_groups={num_groups}, "
                           f"got {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    grouped = input.reshape([n, num_groups, -1])
    out = layer_norm(grouped, [grouped.shape[-1]], eps=eps).reshape(list(input.shape))
    affine_shape = [1, c] + [1] * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(affine_shape)
    return out + bias.reshape(affine_shape) if bias is not None else out


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input / max(||input||_p, eps)`` along ``dim`` (torch.nn.functional.normalize)."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    magnitude = input.abs()
    norm = (magnitude * magnitude).sum([dim], keepdim=True).sqrt() if p == 2.0 else \
        (magnitude ** p).sum([dim], keepdim=True) ** (1.0 / p)
    return input / norm.clamp(min=eps)


# ---- embedding, one_hot, dropout2d ----

def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,  # noqa: A002
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at the int64 indices ``input`` (torch.nn.functional.embedding); rows at
    ``padding_idx`` get no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    if input.dtype not in (_C.dtype.int64, _C.dtype.int32):
        raise RuntimeError(f"embedding: expected indices of dtype int64 or int32, got {input.dtype}")
    flat = input.reshape([-1])
    rows = weight.shape[0]
    if not flat.is_cuda and flat.numel() and bool(((flat < 0).logical_or(flat >= rows)).sum().item()):
        raise IndexError(f"embedding: index out of range in self (indices must be in [0, {rows}), "
                         f"weight {list(weight.shape)})")
    picked = weight.index_select(0, flat)
    if padding_idx is not None:
        padding_idx = padding_idx + rows if padding_idx < 0 else padding_idx
        frozen = weight.detach().index_select(0, flat)
        picked = _C.where((flat == padding_idx).unsqueeze(1), frozen, picked)
    return picked.reshape(list(input.shape) + [weight.shape[1]])


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim (torch.nn.functional.one_hot)."""
    if tensor.dtype != _C.dtype.int64:
        raise RuntimeError(f"one_hot: one_hot is only applicable to index tensor (int64), got {tensor.dtype}")
    if num_classes == -1:
        num_classes = int(tensor.max().item()) + 1 if tensor.numel() else 0
    if tensor.numel() and (int(tensor.min().item()) < 0 or int(tensor.max().item()) >= num_classes):
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes ({num_classes}) and non-negative")
    classes = _C.arange(num_classes, dtype=_C.dtype.int64, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zeroes whole channels of [N, C, H, W] (or [C, H, W]) with probability ``p``, scaling the rest
    by 1/(1-p) (torch.nn.functional.dropout2d)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: dropout probability has to be between 0 and 1, but got {p}")
    if input.dim() not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got {list(input.shape)}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    mask_shape = list(input.shape[:-2]) + [1, 1]
    keep = (_C.rand(mask_shape, device=input.device) >= p).to(input.dtype) * (1.0 / (1.0 - p))
    return input * keep


# ---- convolutions lowered onto conv2d ----

def _same_padding(kernel: Sequence[int], dilation: Sequence[int]) -> tuple[list[int], list[int]]:
    """torch's padding='same': total d*(k-1) per dim, the odd extra on the far side."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [t // 2 for t in totals], [t - t // 2 for t in totals]


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """torch.nn.functional.conv2d, with ``padding='valid'`` / ``'same'`` as well as numbers."""
    if not isinstance(padding, str):
        return _F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    if padding == "valid":
        return _F.conv2d(input, weight, bias, stride, 0, dilation, groups)
    if padding != "same":
        raise ValueError(f"conv2d: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    if expand_tuple(stride, 2, "conv2d: stride") != (1, 1):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
    low, high = _same_padding(weight.shape[-2:], expand_tuple(dilation, 2, "conv2d: dilation"))
    if low == high:
        return _F.conv2d(input, weight, bias, 1, low, dilation, groups)
    padded = pad(input, [low[1], high[1], low[0], high[0]])
    return _F.conv2d(padded, weight, bias, 1, 0, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """conv2d over a height-1 view of [N, C, L] (torch.nn.functional.conv1d)."""
    if input.dim() not in (2, 3) or weight.dim() != 3:
        raise ValueError(f"conv1d: expected input [N, C, L] or [C, L] and weight [O, C/groups, K], got "
                         f"{list(input.shape)} and {list(weight.shape)}")
    batched = input if input.dim() == 3 else input.unsqueeze(0)
    s = expand_tuple(stride, 1, "conv1d: stride")[0]
    d = expand_tuple(dilation, 1, "conv1d: dilation")[0]
    p: Any = padding if isinstance(padding, str) else (0, expand_tuple(padding, 1, "conv1d: padding")[0])
    out = conv2d(batched.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), p, (1, d), groups).squeeze(2)
    return out if input.dim() == 3 else out.squeeze(0)


def _insert_zeros(x: Tensor, dim: int, stride: int) -> Tensor:
    """``stride - 1`` zeros between neighbours along ``dim`` (the transposed conv's input dilation)."""
    if stride == 1:
        return x
    size = x.shape[dim]
    gaps_shape = list(x.shape)
    gaps_shape.insert(dim + 1, stride - 1)
    interleaved = _C.cat([x.unsqueeze(dim + 1), _C.zeros(gaps_shape, dtype=x.dtype, device=x.device)], dim + 1)
    merged_shape = list(x.shape)
    merged_shape[dim] = size * stride
    return interleaved.reshape(merged_shape).narrow(dim, 0, (size - 1) * stride + 1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """The gradient of conv2d as a layer (torch.nn.functional.conv_transpose2d): the input dilated by
    ``stride``, padded by ``dilation*(k-1)-padding``, convolved with the flipped, transposed weight."""
    if input.dim() != 4 or weight.dim() != 4 or input.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ValueError(f"conv_transpose2d: expected input [N, C, H, W] and weight [C, O/groups, kH, kW] with "
                         f"C divisible by groups={groups}, got {list(input.shape)} and {list(weight.shape)}")
    s, p = expand_tuple(stride, 2, "stride"), expand_tuple(padding, 2, "padding")
    op, d = expand_tuple(output_padding, 2, "output_padding"), expand_tuple(dilation, 2, "dilation")
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise ValueError(f"conv_transpose2d: output_padding {op} must be smaller than stride {s} or dilation {d}")
    x = _insert_zeros(_insert_zeros(input, 2, s[0]), 3, s[1])
    k = weight.shape[-2:]
    edge = [di * (ki - 1) - pi for ki, di, pi in zip(k, d, p)]
    x = pad(x, [edge[1], edge[1] + op[1], edge[0], edge[0] + op[0]])
    c_in, c_out_per_group = weight.shape[0], weight.shape[1]
    flipped = weight.index_select(2, _index(np.arange(k[0])[::-1].copy(), weight))
    flipped = flipped.index_select(3, _index(np.arange(k[1])[::-1].copy(), weight))
    grouped = flipped.reshape([groups, c_in // groups, c_out_per_group, k[0], k[1]]).transpose(1, 2)
    kernel = grouped.reshape([groups * c_out_per_group, c_in // groups, k[0], k[1]])
    return _F.conv2d(x, kernel, bias, 1, 0, d, groups)
