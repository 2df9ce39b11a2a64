"""``dl.cuda``: availability, synchronisation, memory statistics and CUDA graphs of the CUDA backend."""
from __future__ import annotations

from types import TracebackType

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


CUDAGraph = _cuda.CUDAGraph
CUDAGraph.__doc__ = """A captured sequence of GPU work, replayed with one launch (PyTorch's torch.cuda.CUDAGraph).

A small model's training step is bound by kernel launches; captured once, it replays as one. Capture
with ``dl.cuda.graph(g)``; ``g.replay()`` re-runs the recorded kernels on the same memory, so feed
new data by copying it into the tensors the capture read (``static_x.copy_(x)``) and read results
from the tensors it produced. Memory allocated during capture is private to the graph until
``g.reset()``. Host reads, host-to-device copies, dropout and optimizer steps cannot be recorded and
raise during capture: the usual step is ``zero_grad(set_to_none=True)`` once, capture forward and
backward, then per batch ``copy_`` the inputs, ``replay()`` and ``optimizer.step()`` (without
``zero_grad``: the replay overwrites the gradients in place).
"""


def is_current_stream_capturing() -> bool:
    """True while a CUDAGraph is being captured."""
    return _cuda.is_current_stream_capturing()


class graph:
    """Context manager that captures the GPU work of its body into ``cuda_graph``.

    On an exception inside the body the capture is abandoned (and its memory freed) and the
    exception propagates.
    """

    def __init__(self, cuda_graph: CUDAGraph) -> None:
        self.cuda_graph = cuda_graph

    def __enter__(self) -> CUDAGraph:
        self.cuda_graph.capture_begin()
        return self.cuda_graph

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if exc_type is None:
            self.cuda_graph.capture_end()
        else:
            self.cuda_graph.capture_abort()
