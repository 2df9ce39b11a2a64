"""torch.nn's pooling layers beyond the C++ ones' plain form: MaxPool2d (``ceil_mode``), AvgPool2d
(``ceil_mode``, ``count_include_pad``, ``divisor_override``) keep the C++ layer for the default
options and call ``dl.nn.functional`` otherwise; MaxPool1d and the adaptive pools call it always.
"""
from __future__ import annotations

from typing import Any

from .. import _C
from . import functional as F
from ._dims import expand_tuple

Module = _C.nn.Module


class MaxPool2d(_C.nn.MaxPool2d):
    """2-D max pooling (torch.nn.MaxPool2d): the C++ layer, plus ``ceil_mode``, ``return_indices``
    (forward returns (values, indices)) and unbatched input through F.max_pool2d."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        _C.nn.MaxPool2d.__init__(self, kernel_size, stride, padding)
        if expand_tuple(dilation, 2, "MaxPool2d: dilation") != (1, 1):
            raise NotImplementedError("MaxPool2d: dilation other than 1 is not supported")
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input: Any) -> Any:  # noqa: A002
        if not self.ceil_mode and not self.return_indices and input.dim() == 4:
            return _C.nn.MaxPool2d.forward(self, input)
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, 1, self.ceil_mode, self.return_indices)

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
    """Max pooling over [N, C, L] or [C, L] (torch.nn.MaxPool1d)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        Module.__init__(self)
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


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
