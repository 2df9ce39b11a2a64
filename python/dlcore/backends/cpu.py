"""``dl.backends.cpu``: the CPU backend's one numerical switch, in the style of torch.backends.cudnn.allow_tf32.

``allow_winograd`` (default True): 3x3 stride-1 convolutions with at least 32 input and output
channels (multiples of the vector width) run as Winograd F(4x4, 3x3), about 4x fewer multiplications
than the direct GEMM lowering and what makes dlcore's ResNet/VGG training step faster than PyTorch's
on the CPU. The price is float rounding: ~1e-5 of the output's scale per convolution instead of ~3e-7
(TF32, which PyTorch enables for cuDNN convolutions by default, costs ~1e-3). Set it to False to
compare a network's gradients with PyTorch's elementwise: through ReLU kinks, a 1e-5 difference in
an activation near zero flips its mask and moves a batch-norm sum by ~1/sqrt(elements).
"""
from __future__ import annotations

import sys
import types

from .. import _C


class _CpuBackend(types.ModuleType):
    @property
    def allow_winograd(self) -> bool:
        """Whether 3x3 stride-1 convolutions may use Winograd F(4x4, 3x3) (process-wide)."""
        return bool(_C._cpu_winograd())

    @allow_winograd.setter
    def allow_winograd(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"dl.backends.cpu.allow_winograd must be a bool, got {type(value).__name__}")
        _C._set_cpu_winograd(value)


sys.modules[__name__].__class__ = _CpuBackend
