"""``dl.accelerator``: recent torch's device-agnostic accelerator queries. dlcore's only
accelerator is CUDA, so these answer for ``dl.cuda``; scripts written against
``torch.accelerator`` (pytorch/examples' mnist, for one) pick the GPU when there is one and the CPU
otherwise."""
from __future__ import annotations

from typing import Any

from . import cuda
from ._C import device as _device


def is_available() -> bool:
    """True when a usable GPU is present and this build has CUDA."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> Any:
    """``dl.device('cuda')`` when this build has CUDA (and, with ``check_available``, a GPU is
    usable); None otherwise, as torch returns for a CPU-only build."""
    if not cuda.built_with_cuda or (check_available and not cuda.is_available()):
        return None
    return _device("cuda")


def device_count() -> int:
    """The number of usable accelerator devices (0 without a GPU)."""
    return cuda.device_count()


def current_device_index() -> int:
    """The current CUDA device's index; RuntimeError without a usable GPU."""
    return cuda.current_device()


def set_device_index(device: Any) -> None:
    """Makes ``device`` (an index or a device) the current accelerator device."""
    cuda.set_device(device)


def synchronize(device: Any = None) -> None:
    """Waits for the accelerator's queued work (a no-op without a GPU)."""
    cuda.synchronize(device)


__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "set_device_index",
           "synchronize"]
