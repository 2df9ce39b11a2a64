"""``dl.cuda``: availability, synchronisation and memory statistics of the CUDA backend."""
from __future__ import annotations

from ._C import cuda as _cuda

built_with_cuda: bool = _cuda.built_with_cuda


def is_available() -> bool:
    """True when this build has CUDA and a usable GPU is present."""
    return _cuda.is_available()


def device_count() -> int:
    return _cuda.device_count() if is_available() else 0


def synchronize() -> None:
    """Waits for all queued GPU work; raises errors that kernels recorded (e.g. bad targets)."""
    if is_available():
        _cuda.synchronize()


def memory_allocated() -> int:
    return _cuda.memory_allocated()


def max_memory_allocated() -> int:
    return _cuda.max_memory_allocated()


def memory_reserved() -> int:
    return _cuda.memory_reserved()


def reset_peak_memory_stats() -> None:
    _cuda.reset_peak_memory_stats()


def empty_cache() -> None:
    _cuda.empty_cache()
