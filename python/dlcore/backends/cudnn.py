"""``dl.backends.cudnn``: the two switches training scripts set, under dlcore's meaning.

``deterministic``: dlcore's convolution, pooling, normalisation and reduction kernels already sum
in a fixed order on every device, so they are deterministic either way; the only run-to-run
variation left is the CUDA ``index_add``/``scatter_add``/``index_put(accumulate=True)`` (and
embedding) backward, which use atomics and have no deterministic alternative yet. Setting it is
recorded and read by nothing else today. ``benchmark``: dlcore picks its convolution lowering by
rule, not by timing (CPU: Winograd F(4x4, 3x3) for 3x3 stride 1 with >= 32 channels unless
dl.backends.cpu.allow_winograd is False, the copy-free "wide" GEMM lowering at other stride-1 shapes,
im2col otherwise, several images per GEMM for small planes; CUDA: implicit GEMM), so there is no
algorithm search to enable; the flag is recorded.
``is_available()`` is False (no cuDNN in dlcore) and ``version()`` None, as torch reports without
cuDNN; ``enabled`` and ``allow_tf32`` are kept for scripts that set them.
"""
from __future__ import annotations

deterministic: bool = False
benchmark: bool = False
enabled: bool = True
allow_tf32: bool = True


def is_available() -> bool:
    """False: dlcore does not use cuDNN."""
    return False


def version() -> None:
    """None: no cuDNN library is linked."""
    return None
