"""The layer functions of ``dl.nn.functional`` that are compositions of existing differentiable C++
ops, beside the padding/resizing (functional_resample.py), pooling (functional_pool.py) and
convolution (functional_conv.py) ones: softmax/log_softmax over any dim, layer and group norm
(layer_norm has fused CPU and CUDA kernels for float32 and composes for other dtypes), normalize,
embedding, one_hot, dropout2d. Signatures, defaults and errors are torch.nn.functional's.
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import _C
from .._C import Tensor
from .._C import functional as _F
from ._dims import expand_tuple, move_dim


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


# ---- normalisation ----

def _fused_layer_norm_applies(input: Tensor, weight: Tensor | None, bias: Tensor | None) -> bool:  # noqa: A002
    """The fused C++ kernels cover float32 (CPU and CUDA); other dtypes compose ops instead."""
    return all(t is None or t.dtype == _C.dtype.float32 for t in (input, weight, bias))


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalises over the trailing ``normalized_shape`` dims (torch.nn.functional.layer_norm);
    biased variance, as torch. float32 inputs run the fused C++ kernel (forward and backward) on
    either device; float64 and 16-bit inputs compose the same math of differentiable ops."""
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
