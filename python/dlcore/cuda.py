"""``dl.cuda``: devices, streams and events, synchronisation, memory statistics and CUDA graphs.

Follows torch.cuda: each thread has a current device (``set_device``, the ``device(i)`` context) and
per device a current stream (``stream(s)`` context, ``set_stream``); ops run on the device of their
tensors, on that device's current stream. Streams are never destroyed: ``Stream()`` hands out one of
a fixed pool per device, as torch does. A tensor used on a stream other than the one it was
allocated on must be marked with ``tensor.record_stream(stream)`` before it is freed, or the caching
allocator may give its memory to another tensor while that stream still reads it.
"""
from __future__ import annotations

from types import TracebackType
from typing import Any

from ._C import cuda as _cuda
from ._C import device as _device

built_with_cuda: bool = _cuda.built_with_cuda

Stream = _cuda.Stream
Event = _cuda.Event
CUDAGraph = _cuda.CUDAGraph


def is_available() -> bool:
    """True when this build has CUDA and a usable GPU is present."""
    return _cuda.is_available()


def device_count() -> int:
    """The number of usable CUDA devices (0 without a GPU or without CUDA in this build)."""
    return _cuda.device_count() if is_available() else 0


def current_device() -> int:
    """This thread's current CUDA device index; RuntimeError without CUDA."""
    return _cuda.current_device()


def get_device_name(device: Any = None) -> str:
    """The name of ``device`` (default: the current device), e.g. ``"NVIDIA H100 80GB HBM3"``."""
    return _cuda.get_device_name(device)


def get_device_capability(device: Any = None) -> tuple[int, int]:
    """The compute capability ``(major, minor)`` of ``device`` (default: the current device)."""
    return tuple(_cuda.get_device_capability(device))


def set_device(device: Any) -> None:
    """Makes ``device`` (an index, ``"cuda:1"`` or a ``dl.device``) this thread's current device."""
    _cuda.set_device(device)


def _index(device: Any) -> int:
    """The CUDA index a torch-style device argument names; None means the current device."""
    if device is None:
        return current_device()
    d = device if isinstance(device, _device) else _device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


class device:
    """Context manager that makes ``device`` the current CUDA device for its body (torch.cuda.device).

    ``None`` or a negative index leaves the current device unchanged.
    """

    def __init__(self, device: Any) -> None:
        self.index = -1 if device is None or (isinstance(device, int) and device < 0) else _index(device)
        self.previous = -1

    def __enter__(self) -> "device":
        if self.index >= 0:
            self.previous = current_device()
            set_device(self.index)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.previous >= 0:
            set_device(self.previous)


class device_of(device):
    """Context manager that makes the device of tensor ``obj`` current (a no-op for CPU tensors)."""

    def __init__(self, obj: Any) -> None:
        super().__init__(obj.get_device() if obj.is_cuda else -1)


def current_stream(device: Any = None) -> Stream:
    """This thread's current stream of ``device`` (default: the current device)."""
    return _cuda.current_stream(device)


def default_stream(device: Any = None) -> Stream:
    """The default stream of ``device`` (default: the current device)."""
    return _cuda.default_stream(device)


def set_stream(stream: Stream) -> None:
    """Makes ``stream`` the current stream of its device on this thread."""
    _cuda.set_stream(stream)


class StreamContext:
    """Context manager that makes ``stream`` current for its body (torch.cuda.StreamContext).

    Inside, the stream's device is also the current device; both are restored on exit. ``None``
    makes the context a no-op.
    """

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self._saved: tuple[int, Stream, Stream] | None = None

    def __enter__(self) -> Stream | None:
        if self.stream is None:
            return None
        previous_device = current_device()
        target = self.stream.device.index
        # torch restores the current stream of both the stream's device and the device that was
        # current, so work queued after the block goes where it went before.
        self._saved = (previous_device, current_stream(previous_device), current_stream(target))
        set_device(target)
        set_stream(self.stream)
        return self.stream

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._saved is None:
            return
        previous_device, previous_stream, target_stream = self._saved
        set_stream(target_stream)
        set_stream(previous_stream)
        set_device(previous_device)
        self._saved = None


def stream(stream: Stream | None) -> StreamContext:
    """``with dl.cuda.stream(s):`` queues the body's GPU work on ``s``."""
    return StreamContext(stream)


def synchronize(device: Any = None) -> None:
    """Waits for all queued GPU work on ``device`` (every stream); raises errors kernels recorded."""
    if is_available():
        _cuda.synchronize(device)


def manual_seed(seed: int) -> None:
    """Seeds dlcore's generator. dlcore has one generator for every device (initialisation and
    dropout on the CPU and GPU draw from it), so this equals ``dl.manual_seed(seed)``."""
    from . import manual_seed as _manual_seed
    _manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """As ``manual_seed``: the one generator serves every GPU."""
    manual_seed(seed)


def memory_allocated(device: Any = None) -> int:
    """Bytes held by live tensors on ``device`` (default: the current device)."""
    return _cuda.memory_allocated(device)


def max_memory_allocated(device: Any = None) -> int:
    """Peak of ``memory_allocated(device)`` since the last ``reset_peak_memory_stats``."""
    return _cuda.max_memory_allocated(device)


def memory_reserved(device: Any = None) -> int:
    """Bytes the caching allocator holds from the driver on ``device``, live or cached."""
    return _cuda.memory_reserved(device)


def reset_peak_memory_stats(device: Any = None) -> None:
    _cuda.reset_peak_memory_stats(device)


def empty_cache() -> None:
    """Returns every device's cached, unused blocks to the driver."""
    _cuda.empty_cache()


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

    The capture records the current stream (use ``dl.cuda.stream(s)`` around it to capture a side
    stream). On an exception inside the body the capture is abandoned (and its memory freed) and
    the exception propagates.
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
