"""The torch.nn layers that dlcore builds in Python over ``dl.nn.functional``: Conv1d,
ConvTranspose2d, MaxPool1d, the adaptive pools, BatchNorm1d, LayerNorm, GroupNorm, Embedding,
Upsample, Dropout2d, Unflatten, ZeroPad2d, PReLU, Softmax and LogSoftmax. Each holds its
Parameters and buffers under torch's names with torch's default initialisation (so state dicts
convert both ways) and calls one functional in forward; the math is in the ops.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import _C
from ..autograd import no_grad
from . import functional as F
from . import init
from ._dims import expand_tuple

Module = _C.nn.Module
Parameter = _C.Parameter


def _parameter(shape: Sequence[int], dtype: Any = None, device: Any = None) -> Parameter:
    return Parameter(_C.empty(list(shape), dtype=dtype or _C.dtype.float32, device=device or "cpu"))


def _fan_in_uniform_(weight: Parameter, bias: Parameter | None, fan_in: int) -> None:
    """torch's reset_parameters for Linear/Conv: kaiming_uniform_(a=sqrt(5)) on the weight and
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) on the bias."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


def _check_positive(value: int, layer: str, what: str) -> None:
    if value <= 0:
        raise ValueError(f"{layer}: {what} must be positive, got {value}")


class Linear(_C.nn.Linear):
    """``y = x W^T + b`` over the last dim of an input with any leading dims (torch.nn.Linear); 2-D
    inputs go straight to the C++ layer, others are flattened to rows around it."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        _C.nn.Linear.__init__(self, in_features, out_features, bias)
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def forward(self, input: Any) -> Any:  # noqa: A002
        if input.dim() == 2:
            return _C.nn.Linear.forward(self, input)
        if input.dim() == 0 or input.shape[-1] != self.in_features:
            raise ValueError(f"Linear(in_features={self.in_features}): input {list(input.shape)} does not have "
                             f"{self.in_features} features in its last dim")
        rows = _C.nn.Linear.forward(self, input.reshape([-1, self.in_features]))
        return rows.reshape(list(input.shape[:-1]) + [self.out_features])


class Conv2d(_C.nn.Conv2d):
    """2-D convolution (torch.nn.Conv2d), the C++ layer plus torch's ``padding='same'/'valid'``
    (an odd total 'same' padding goes through F.pad, the extra row/column on the far side)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode {padding_mode!r} is not supported (only 'zeros')")
        self_padding: Any = padding
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and expand_tuple(stride, 2, "Conv2d: stride") != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
            self_padding = 0
        _C.nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, self_padding, dilation, groups, bias)
        self.padding_mode = padding_mode
        self.dilation = expand_tuple(dilation, 2, "Conv2d: dilation")  # the C++ layer does not expose it
        self.padding_text = padding if isinstance(padding, str) else None
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    def forward(self, input: Any) -> Any:  # noqa: A002
        if self.padding_text != "same":
            return _C.nn.Conv2d.forward(self, input)
        return F.conv2d(input, self.weight, self.bias, self.stride, "same", self.dilation, self.groups)

    def extra_repr(self) -> str:
        base = _C.nn.Conv2d.extra_repr(self)
        return base + (f", padding={self.padding_text}" if self.padding_text else "")


class Conv1d(Module):
    """1-D convolution over [N, C, L] (torch.nn.Conv1d); runs as conv2d on a height-1 view."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        Module.__init__(self)
        for value, what in ((in_channels, "in_channels"), (out_channels, "out_channels"), (groups, "groups")):
            _check_positive(value, "Conv1d", what)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv1d: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv1d: padding_mode {padding_mode!r} is not supported (only 'zeros')")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = expand_tuple(kernel_size, 1, "Conv1d: kernel_size")
        self.stride = expand_tuple(stride, 1, "Conv1d: stride")
        self.padding = padding if isinstance(padding, str) else expand_tuple(padding, 1, "Conv1d: padding")
        self.dilation = expand_tuple(dilation, 1, "Conv1d: dilation")
        self.weight = _parameter([out_channels, in_channels // groups, self.kernel_size[0]], dtype, device)
        self.bias = _parameter([out_channels], dtype, device) if bias else None
        _fan_in_uniform_(self.weight, self.bias, in_channels // groups * self.kernel_size[0])

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
                + (f", padding={self.padding}" if self.padding not in ((0,), "valid") else "")
                + (f", dilation={self.dilation}" if self.dilation != (1,) else "")
                + (f", groups={self.groups}" if self.groups != 1 else "") + (", bias=False" if self.bias is None else ""))


class ConvTranspose2d(Module):
    """Transposed 2-D convolution (torch.nn.ConvTranspose2d); weight [C_in, C_out/groups, kH, kW]."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        Module.__init__(self)
        for value, what in ((in_channels, "in_channels"), (out_channels, "out_channels"), (groups, "groups")):
            _check_positive(value, "ConvTranspose2d", what)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"ConvTranspose2d: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                             f"be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only 'zeros' padding mode is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = expand_tuple(kernel_size, 2, "ConvTranspose2d: kernel_size")
        self.stride = expand_tuple(stride, 2, "ConvTranspose2d: stride")
        self.padding = expand_tuple(padding, 2, "ConvTranspose2d: padding")
        self.output_padding = expand_tuple(output_padding, 2, "ConvTranspose2d: output_padding")
        self.dilation = expand_tuple(dilation, 2, "ConvTranspose2d: dilation")
        self.weight = _parameter([in_channels, out_channels // groups, *self.kernel_size], dtype, device)
        self.bias = _parameter([out_channels], dtype, device) if bias else None
        # torch computes the fan-in of this weight layout from dim 1: (out/groups) * kH * kW
        _fan_in_uniform_(self.weight, self.bias, out_channels // groups * self.kernel_size[0] * self.kernel_size[1])

    def forward(self, input: Any, output_size: Sequence[int] | None = None) -> Any:  # noqa: A002
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, list(output_size)[-2:])
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)

    def _output_padding_for(self, input: Any, size: list[int]) -> tuple[int, int]:  # noqa: A002
        extra = []
        for d in range(2):
            smallest = ((input.shape[d + 2] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            if not smallest <= size[d] < smallest + self.stride[d]:
                raise ValueError(f"ConvTranspose2d: requested output size {size} is not reachable from input "
                                 f"{list(input.shape)} (dim {d} must be in [{smallest}, {smallest + self.stride[d]}))")
            extra.append(size[d] - smallest)
        return extra[0], extra[1]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
                + (f", padding={self.padding}" if self.padding != (0, 0) else "")
                + (f", output_padding={self.output_padding}" if self.output_padding != (0, 0) else "")
                + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")
                + (f", groups={self.groups}" if self.groups != 1 else "") + (", bias=False" if self.bias is None else ""))


class MaxPool2d(_C.nn.MaxPool2d):
    """2-D max pooling (torch.nn.MaxPool2d): the C++ layer, plus ``ceil_mode`` through F.max_pool2d."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        _C.nn.MaxPool2d.__init__(self, kernel_size, stride, padding)
        if return_indices:
            raise NotImplementedError("MaxPool2d: return_indices=True is not supported")
        if expand_tuple(dilation, 2, "MaxPool2d: dilation") != (1, 1):
            raise NotImplementedError("MaxPool2d: dilation other than 1 is not supported")
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input: Any) -> Any:  # noqa: A002
        if not self.ceil_mode:
            return _C.nn.MaxPool2d.forward(self, input)
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, ceil_mode=True)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_C.nn.AvgPool2d):
    """2-D average pooling (torch.nn.AvgPool2d): the C++ layer, plus ``ceil_mode``,
    ``count_include_pad=False`` and ``divisor_override`` through F.avg_pool2d."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        _C.nn.AvgPool2d.__init__(self, kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input: Any) -> Any:  # noqa: A002
        if not self.ceil_mode and self.count_include_pad and self.divisor_override is None:
            return _C.nn.AvgPool2d.forward(self, input)
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(Module):
    """Max pooling over [N, C, L] (torch.nn.MaxPool1d)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        Module.__init__(self)
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d)."""

    def __init__(self, output_size: Any) -> None:
        Module.__init__(self)
        self.output_size = output_size

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (torch.nn.AdaptiveMaxPool2d)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        Module.__init__(self)
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


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
            self.weight = _parameter([num_embeddings, embedding_dim], dtype, device)
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
