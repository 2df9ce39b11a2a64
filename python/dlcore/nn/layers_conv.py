"""torch.nn's linear and convolution layers over ``dl.nn.functional``: Linear (the C++ layer plus
any leading dims), Conv2d (the C++ layer plus ``padding='same'/'valid'``), Conv1d and
ConvTranspose2d. Weights and biases have torch's names, layouts and default initialisation
(kaiming_uniform with a=sqrt(5), U(+-1/sqrt(fan_in)) biases), so state dicts convert both ways.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import _C
from . import functional as F
from . import init
from ._dims import expand_tuple

Module = _C.nn.Module
Parameter = _C.Parameter


def new_parameter(shape: Sequence[int], dtype: Any = None, device: Any = None) -> Parameter:
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
        self.weight = new_parameter([out_channels, in_channels // groups, self.kernel_size[0]], dtype, device)
        self.bias = new_parameter([out_channels], dtype, device) if bias else None
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
        self.weight = new_parameter([in_channels, out_channels // groups, *self.kernel_size], dtype, device)
        self.bias = new_parameter([out_channels], dtype, device) if bias else None
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
