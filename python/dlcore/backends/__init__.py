"""``dl.backends``: torch.backends' switches that scripts set, with dlcore's meaning.

dlcore has neither cuDNN nor Metal. ``dl.backends.cudnn`` keeps torch's attributes so scripts that
set them run, and they mean what they can mean here (see backends/cudnn.py); ``dl.backends.mps``
reports that there is no MPS device. ``dl.backends.cpu.allow_winograd`` is dlcore's own: whether
3x3 convolutions on the CPU may trade float rounding for speed (backends/cpu.py).
"""
from . import cpu, cudnn, mps

__all__ = ["cpu", "cudnn", "mps"]
