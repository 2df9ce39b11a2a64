"""What runs inside a DataLoader worker process, and what crosses the process boundary.

A worker receives ``(task, epoch, indices)`` messages, fetches and collates that batch, and sends
back the result; failures travel as the exception's type and formatted traceback, which the main
process re-raises. Results cross a pipe as a protocol-5 pickle with the numpy buffers out of band
(dlcore tensors travel as their arrays): the worker writes straight from the batch's memory, the
main process reads into fresh buffers and copies once, into the tensor. bench/data_loader.py
measured this pipe (grown to 1 MB) ahead of a multiprocessing.Queue at every size and of a *new*
shared-memory segment per batch for LeNet- and CIFAR-size batches (95 / 318 / 389 us for 200 KB).
Reused segments are another matter: tensors of 512 KB and more go through a worker's pool of
shared-memory slots (shared_batches.py), 1.6x to 3x faster than the pipe from 0.8 MB to an
ImageNet batch's 38.5 MB (bench/batch_handover.py); only the slot's name crosses the pipe.

Workers are forked on Linux. A forked child inherits the engine's state but not its OpenMP
threads, so each worker pins the engine to one thread (as torch's workers do) before running user
code, which keeps libgomp from waiting on a thread team that does not exist in the child; workers
must not use CUDA (a CUDA context does not survive fork).
"""
from __future__ import annotations

import ctypes
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable

import numpy as np

from ... import _C
from .fetch import make_fetcher

# How often (s) a waiting worker checks that its parent is alive, and a waiting parent its workers.
STATUS_CHECK_INTERVAL = 1.0


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed`` and this
    worker's copy of ``dataset``. Read-only, as in torch."""

    id: int
    num_workers: int
    seed: int
    dataset: Any

    def __init__(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, dataset={self.dataset!r})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's WorkerInfo inside a DataLoader worker process; None in the main process."""
    return _worker_info


# ----- tensors through pickles ------------------------------------------------------------------

def _rebuild_tensor(array: np.ndarray, dtype_name: str, device: str, requires_grad: bool) -> Any:
    tensor = _C.from_numpy(array)
    if dtype_name == "bfloat16":  # numpy has no bfloat16: it travelled as float32, which holds it exactly
        tensor = tensor.to(_C.dtype.bfloat16)
    if device != "cpu":
        tensor = tensor.to(device)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def _reduce_tensor(tensor: Any) -> tuple:
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does "
                           "not support crossing process boundaries.  If you just want to transfer the data, call "
                           "detach() on the tensor before serializing (e.g., putting it on the queue).")
    data = tensor.detach().cpu()
    dtype_name = str(data.dtype).replace("dlcore.", "")
    if data.dtype == _C.dtype.bfloat16:
        data = data.float()
    return _rebuild_tensor, (data.numpy(), dtype_name, str(tensor.device), bool(tensor.requires_grad))


def register_tensor_pickling() -> None:
    """Lets multiprocessing pickle dlcore tensors (results from workers, datasets sent to spawned ones)."""
    ForkingPickler.register(_C.Tensor, _reduce_tensor)
    ForkingPickler.register(_C.Parameter, _reduce_tensor)


# ----- messages ---------------------------------------------------------------------------------

@dataclass
class WorkerFailure:
    """An exception raised in a worker: its type and formatted traceback, re-raised by the main process."""

    worker_id: int
    exc_type: type | None  # None when the type cannot travel (a class local to a function, say)
    exc_name: str
    message: str

    @classmethod
    def from_current(cls, worker_id: int) -> "WorkerFailure":
        kind, value, _ = sys.exc_info()
        text = "".join(traceback.format_exception(kind, value, value.__traceback__))
        try:
            pickle.loads(pickle.dumps(kind))
            travels: type | None = kind
        except Exception:
            travels = None
        return cls(worker_id, travels, kind.__name__, text)

    def reraise(self) -> None:
        message = (f"Caught {self.exc_name} in DataLoader worker process {self.worker_id}.\n"
                   f"Original {self.message}")
        if self.exc_type is None:
            raise RuntimeError(message)
        if self.exc_type is KeyError:  # KeyError's str() is the repr of its argument: keep newlines readable
            message = _KeyErrorMessage(message)
        try:
            error = self.exc_type(message)
        except Exception:  # an exception type whose constructor wants other arguments
            raise RuntimeError(message) from None
        raise error


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return str(self)


@dataclass
class IterableExhausted:
    """A worker's IterableDataset copy ran out for the current epoch."""

    worker_id: int


@dataclass
class WorkerSetup:
    """Everything a worker needs, sent once at start (by fork: inherited, not pickled)."""

    dataset_kind: str  # "map" or "iterable"
    dataset: Any
    auto_collation: bool
    collate_fn: Callable[[Any], Any]
    drop_last: bool
    base_seed: int
    init_fn: Callable[[int], None] | None
    worker_id: int
    num_workers: int


def _seed_worker(seed: int, base_seed: int, worker_id: int) -> None:
    random.seed(seed)
    _C.manual_seed(seed)
    # numpy's global generator too (torch does this since 1.9), from both numbers, so workers differ.
    np.random.seed(np.random.SeedSequence([base_seed, worker_id]).generate_state(4))


# glibc's mallopt parameters (malloc.h): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_REUSED_ALLOCATION_BYTES = 256 << 20


def reuse_large_allocations() -> None:
    """Lets this (worker) process's allocator keep and reuse blocks up to 256 MB.

    glibc serves anything above 32 MB with a fresh mmap and unmaps it on free, so an ImageNet batch
    (38.5 MB) collated every step lands in new pages, each faulted in and zeroed by the kernel: a
    64-tensor stack took 19 ms that way and 2.4 ms in reused memory. A worker allocates the same
    batch-sized blocks over and over, which is the case the heap handles well. Elsewhere than glibc
    this does nothing."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return
    mallopt(_M_MMAP_THRESHOLD, _REUSED_ALLOCATION_BYTES)
    mallopt(_M_TRIM_THRESHOLD, 2 * _REUSED_ALLOCATION_BYTES)


def worker_loop(setup: WorkerSetup, index_queue: Any, sender: Any, done_event: Any, parent_pid: int) -> None:
    """The body of a worker process; returns when told to stop, when its parent dies, or on Ctrl-C."""
    global _worker_info
    try:
        _C.set_num_threads(1)
        reuse_large_allocations()
        seed = setup.base_seed + setup.worker_id
        _seed_worker(seed, setup.base_seed, setup.worker_id)
        _worker_info = WorkerInfo(id=setup.worker_id, num_workers=setup.num_workers, seed=seed, dataset=setup.dataset)
        init_failure = None
        try:
            if setup.init_fn is not None:
                setup.init_fn(setup.worker_id)
        except Exception:
            init_failure = WorkerFailure.from_current(setup.worker_id)
        fetcher, fetcher_epoch = None, None
        while True:
            try:
                message = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid or done_event.is_set():
                    break
                continue
            except (EOFError, OSError):  # the main process went away and took the queue with it
                break
            if message is None or done_event.is_set():
                break
            task, epoch, indices = message
            if init_failure is not None:
                result: Any = init_failure
            else:
                try:
                    if fetcher_epoch != epoch:  # a new epoch restarts an IterableDataset's iterator
                        fetcher = make_fetcher(setup.dataset_kind, setup.dataset, setup.auto_collation,
                                               setup.collate_fn, setup.drop_last)
                        fetcher_epoch = epoch
                    result = fetcher.fetch(indices)
                except StopIteration:
                    result = IterableExhausted(setup.worker_id)
                except Exception:
                    result = WorkerFailure.from_current(setup.worker_id)
            sender.send((task, epoch, result))
            del result
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process reports it


__all__ = ["WorkerInfo", "get_worker_info"]
