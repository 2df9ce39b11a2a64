"""``dl.nn.functional``'s convolutions lowered onto the C++ conv2d: ``conv2d`` with torch's
``padding='same'/'valid'``, ``conv1d`` (a height-1 conv2d) and ``conv_transpose2d`` (the input
dilated by the stride, padded, and convolved with the flipped, transposed weight), so their
gradients are conv2d's.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import _C
from .._C import Tensor
from .._C import functional as _F
from ._dims import expand_tuple
from .functional_resample import index_tensor, pad


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
    flipped = weight.index_select(2, index_tensor(np.arange(k[0])[::-1].copy(), weight))
    flipped = flipped.index_select(3, index_tensor(np.arange(k[1])[::-1].copy(), weight))
    grouped = flipped.reshape([groups, c_in // groups, c_out_per_group, k[0], k[1]]).transpose(1, 2)
    kernel = grouped.reshape([groups * c_out_per_group, c_in // groups, k[0], k[1]])
    return _F.conv2d(x, kernel, bias, 1, 0, d, groups)
