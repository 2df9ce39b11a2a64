"""Large batch tensors from DataLoader workers through reusable shared-memory slots instead of the pipe.

Each worker owns a few slots: files in /dev/shm that it creates on first use (and replaces with a
larger one when a batch outgrows its slot), maps once and reuses. A CPU tensor of at least
``SHARED_MEMORY_MIN_BYTES`` in a worker's reply is copied into a free slot and pickled as a
persistent id naming the slot; the main process maps that file once (and unlinks it: from then on
it lives only as long as the two mappings), copies the data into a new tensor while unpickling, and
marks the slot free again. A one-byte flag per slot, in a RawArray both processes share, says
whether the main process still has to read it; the worker sets it after writing and the main
process clears it after copying. The pipe message that names the slot orders those accesses.

Why: a 64x3x224x224 float32 ImageNet batch (38.5 MB) through the pipe costs two kernel copies, page
faults on fresh receive buffers and a final copy into the tensor; a slot costs one copy on each
side into memory that is already mapped (bench/batch_handover.py measures both). Small batches
stay on the pipe, where a slot's bookkeeping costs more than it saves. Anything that does not fit
(no /dev/shm, no free slot, /dev/shm full) also goes through the pipe, so the worker never waits
and never faults on a tmpfs that cannot back the file. A worker unlinks its slots when it exits; one
killed (SIGKILL) before the main process mapped a slot leaves that file behind in /dev/shm, named
dlcore-batch-slot-<worker pid>-<n>.
"""
from __future__ import annotations

import itertools
import mmap
import os
from typing import Any

import numpy as np

from ... import _C

# Below this size a tensor takes the pipe: bench/batch_handover.py measured the two level at 0.2 MB
# and the slots ahead from 0.8 MB (1.6x) to 38.5 MB (2-3x).
SHARED_MEMORY_MIN_BYTES = 512 << 10
SHARED_MEMORY_DIR = "/dev/shm"
_SLOT_TAG = "dlcore-batch-slot"
_serial = itertools.count()


def shared_memory_usable() -> bool:
    return os.path.isdir(SHARED_MEMORY_DIR) and os.access(SHARED_MEMORY_DIR, os.W_OK)


class _Segment:
    """One mapped file: its path, size and the mapping itself."""

    def __init__(self, path: str, fd: int) -> None:
        try:
            self.size = os.fstat(fd).st_size
            self.map = mmap.mmap(fd, self.size)
        finally:
            os.close(fd)
        self.path = path

    @classmethod
    def create(cls, path: str, size: int) -> "_Segment":
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # Reserves the pages now: a tmpfs short of space fails here (OSError: use the pipe)
            # instead of killing the writer with SIGBUS when it touches an unbacked page.
            os.posix_fallocate(fd, 0, size)
        except OSError:
            os.close(fd)
            raise
        return cls(path, fd)

    @classmethod
    def open(cls, path: str) -> "_Segment":
        return cls(path, os.open(path, os.O_RDWR))

    def close(self) -> None:
        self.map.close()


class WorkerSlots:
    """A worker's side: places large arrays into free slots."""

    def __init__(self, busy: Any) -> None:
        self.busy = busy
        self.segments: list[_Segment | None] = [None] * len(busy)

    def place(self, array: np.ndarray) -> tuple[int, str] | None:
        """Copies ``array`` into a free slot and returns (slot, path), or None when it must take the pipe."""
        nbytes = array.nbytes
        for slot, segment in enumerate(self.segments):
            if self.busy[slot]:
                continue
            if segment is None or segment.size < nbytes:
                segment = self._replace(slot, nbytes)
                if segment is None:
                    return None
            np.frombuffer(segment.map, dtype=array.dtype, count=array.size).reshape(array.shape)[...] = array
            self.busy[slot] = 1
            return slot, segment.path
        return None

    def _replace(self, slot: int, nbytes: int) -> _Segment | None:
        old = self.segments[slot]
        if old is not None:
            old.close()
            _unlink_quietly(old.path)  # the main process may not have mapped it yet
        path = os.path.join(SHARED_MEMORY_DIR, f"{_SLOT_TAG}-{os.getpid()}-{next(_serial)}")
        try:
            segment: _Segment | None = _Segment.create(path, max(nbytes, 1))
        except OSError:
            _unlink_quietly(path)
            segment = None
        self.segments[slot] = segment
        return segment

    def close(self) -> None:
        """At worker exit: a slot the main process never mapped would otherwise stay in /dev/shm."""
        for segment in self.segments:
            if segment is not None:
                segment.close()
                _unlink_quietly(segment.path)


class MainSlots:
    """The main process's side for one worker: maps its slots and turns them back into tensors."""

    def __init__(self, busy: Any) -> None:
        self.busy = busy
        self.segments: dict[int, _Segment] = {}

    def tensor(self, slot: int, path: str, shape: tuple[int, ...], dtype: str) -> Any:
        """A new tensor holding the slot's data; the slot is free again once this returns."""
        segment = self.segments.get(slot)
        if segment is None or segment.path != path:
            if segment is not None:
                segment.close()
            segment = _Segment.open(path)
            _unlink_quietly(path)  # both sides hold it mapped: the name is no longer needed
            self.segments[slot] = segment
        count = int(np.prod(shape, dtype=np.int64))
        try:
            return _C.from_numpy(np.frombuffer(segment.map, dtype=dtype, count=count).reshape(shape))  # copies
        finally:
            self.busy[slot] = 0

    def close(self) -> None:
        for segment in self.segments.values():
            segment.close()
        self.segments.clear()


def slot_id(slots: WorkerSlots | None, obj: Any) -> tuple | None:
    """The persistent id a worker's pickler gives ``obj``: a slot reference for a large CPU tensor
    that travels as plain data (a leaf, numpy-representable dtype), else None (pickled as usual)."""
    if slots is None or type(obj) is not _C.Tensor or obj.requires_grad or str(obj.device) != "cpu":
        return None
    if obj.numel() * obj.element_size() < SHARED_MEMORY_MIN_BYTES or obj.dtype == _C.dtype.bfloat16:
        return None
    array = np.ascontiguousarray(obj.numpy())
    placed = slots.place(array)
    if placed is None:
        return None
    return placed + (array.shape, array.dtype.str)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


__all__ = ["SHARED_MEMORY_MIN_BYTES", "WorkerSlots", "MainSlots", "slot_id", "shared_memory_usable"]
