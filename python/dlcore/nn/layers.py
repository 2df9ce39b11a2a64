"""The other torch.nn layers that dlcore builds in Python over ``dl.nn.functional``: BatchNorm1d,
LayerNorm, GroupNorm, Embedding, Upsample, Dropout2d, Unflatten, ZeroPad2d, PReLU, Softmax and
LogSoftmax (the convolutions are in layers_conv.py, the pools in layers_pool.py). Each holds its
Parameters and buffers under torch's names with torch's default initialisation and calls one
functional in forward; the math is in the ops.
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import _C
from ..autograd import no_grad
from . import functional as F
from . import init
from ._dims import expand_tuple
from .layers_conv import new_parameter

Module = _C.nn.Module
Parameter = _C.Parameter


class BatchNorm1d(Module):
    """Batch norm over [N, C] or [N, C, L] (torch.nn.BatchNorm1d); ``momentum=None`` keeps the
    cumulative average of the batch statistics, as torch."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        Module.__init__(self)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(_C.ones([num_features], dtype=dtype or _C.dtype.float32)) if affine else None
        self.bias = Parameter(_C.zeros([num_features], dtype=dtype or _C.dtype.float32)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", _C.zeros([num_features]))
            self.register_buffer("running_var", _C.ones([num_features]))
            self.register_buffer("num_batches_tracked", _C.zeros([], dtype=_C.dtype.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        if device is not None:
            self.to(device)

    def forward(self, input: Any) -> Any:  # noqa: A002
        if input.dim() not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (got {input.dim()}D input {list(input.shape)})")
        use_batch_stats = self.training or self.running_mean is None
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        running = (self.running_mean, self.running_var) if not self.training or self.track_running_stats else (None, None)
        return F.batch_norm(input, running[0], running[1], self.weight, self.bias, use_batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Normalises the trailing ``normalized_shape`` dims (torch.nn.LayerNorm)."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        Module.__init__(self)
        self.normalized_shape = tuple(expand_tuple(normalized_shape, 1, "LayerNorm") if isinstance(normalized_shape, int)
                                      else normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        shape = list(self.normalized_shape)
        kind = dtype or _C.dtype.float32
        self.weight = Parameter(_C.ones(shape, dtype=kind)) if elementwise_affine else None
        self.bias = Parameter(_C.zeros(shape, dtype=kind)) if elementwise_affine and bias else None
        if device is not None:
            self.to(device)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalises groups of channels (torch.nn.GroupNorm)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        Module.__init__(self)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        kind = dtype or _C.dtype.float32
        self.weight = Parameter(_C.ones([num_channels], dtype=kind)) if affine else None
        self.bias = Parameter(_C.zeros([num_channels], dtype=kind)) if affine else None
        if device is not None:
            self.to(device)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` rows (torch.nn.Embedding): N(0, 1) initialised, the
    ``padding_idx`` row zeroed and frozen."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        Module.__init__(self)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError(f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), "
                                     f"got {padding_idx}")
            padding_idx = padding_idx % num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = max_norm, norm_type, scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = new_parameter([num_embeddings, embedding_dim], dtype, device)
            init.normal_(self.weight)
            if padding_idx is not None:
                with no_grad():
                    self.weight[padding_idx].fill_(0.0)
        else:
            self.weight = Parameter(_weight)
        if _freeze:
            self.weight.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        if embeddings.dim() != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got {list(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class Upsample(Module):
    """Resizes [N, C, ...] with F.interpolate (torch.nn.Upsample)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        Module.__init__(self)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={float(self.scale_factor)}" if self.scale_factor is not None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"


class Dropout2d(Module):
    """Zeroes whole channels in training (torch.nn.Dropout2d)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        Module.__init__(self)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.dropout2d(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size`` (torch.nn.Unflatten)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        Module.__init__(self)
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return input.unflatten(self.dim, list(self.unflattened_size))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class ZeroPad2d(Module):
    """Zero padding of the last two dims (torch.nn.ZeroPad2d); ``padding`` an int or (l, r, t, b)."""

    def __init__(self, padding: Any) -> None:
        Module.__init__(self)
        self.padding = expand_tuple(padding, 4, "ZeroPad2d: padding")

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.pad(input, self.padding, "constant", 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class PReLU(Module):
    """max(0, x) + a * min(0, x) with learnt ``a`` per channel or shared (torch.nn.PReLU)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None) -> None:
        Module.__init__(self)
        self.num_parameters = num_parameters
        self.weight = Parameter(_C.full([num_parameters], init, dtype=dtype or _C.dtype.float32))
        if device is not None:
            self.to(device)

    def forward(self, input: Any) -> Any:  # noqa: A002
        weight = self.weight
        if self.num_parameters > 1:
            if input.dim() < 2 or input.shape[1] != self.num_parameters:
                raise RuntimeError(f"PReLU: {self.num_parameters} parameters need input [N, {self.num_parameters}, ...], "
                                   f"got {list(input.shape)}")
            weight = weight.reshape([1, self.num_parameters] + [1] * (input.dim() - 2))
        return _C.where(input >= 0, input, input * weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax(Module):
    """softmax over ``dim`` (torch.nn.Softmax)."""

    def __init__(self, dim: int | None = None) -> None:
        Module.__init__(self)
        self.dim = dim

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log_softmax over ``dim`` (torch.nn.LogSoftmax)."""

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.log_softmax(input, self.dim)
