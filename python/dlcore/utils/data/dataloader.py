"""``DataLoader``: torch.utils.data.DataLoader for dlcore: batches from any dataset through samplers,
a collate function and, with ``num_workers > 0``, worker processes.

With workers, the loader keeps ``prefetch_factor`` batches per worker in flight, hands them out
round-robin and yields results in order (``in_order=True``), re-raises a worker's exception with
its traceback, raises RuntimeError when a worker dies or (``timeout > 0``) a batch takes too long,
and shuts its workers down when the iterator is exhausted, abandoned or garbage-collected.
Results come back over one pipe per worker as a protocol-5 pickle whose numpy buffers are sent
out of band, so the main process copies a batch once, into its tensor (see worker.py); tensors of
512 KB and more (a CIFAR or ImageNet batch) travel through reusable shared-memory slots instead and only
their slot's name crosses the pipe (see shared_batches.py).

Workers are forked where the platform allows (Linux): the in-memory datasets are shared
copy-on-write instead of pickled into every worker, and scripts need no ``__main__`` guard.
Pass ``multiprocessing_context="spawn"`` (or "forkserver") for a fresh interpreter per worker.
"""
from __future__ import annotations

import functools
import io
import itertools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import struct
import threading
import time
import warnings
import weakref
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Iterable, Iterator

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from ..._generator import Generator, _check_generator, _draw_seed
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import make_fetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _index_batches
from . import shared_batches
from . import worker as _worker

_worker.register_tensor_pickling()


class _InfiniteConstantSampler(Sampler):
    """The index stream of an IterableDataset: the dataset decides what comes next."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


def _default_context() -> Any:
    # fork where it exists: see the module note. Elsewhere, the platform's default (spawn).
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class DataLoader:
    """Iterates over batches of ``dataset``, with torch.utils.data.DataLoader's arguments.

    ``shuffle=True`` draws a new order each epoch from ``generator`` (a ``dl.Generator``) or, without
    one, from dlcore's global generator (``dl.manual_seed``). A map-style dataset is asked for whole
    batches when it can give them: torch's ``__getitems__(indices)``, and with the default collate
    dlcore's ``_getitems_collated(indices)`` (the collated batch itself; dlcore.data's datasets and
    TensorDataset have it). ``pin_memory`` is accepted for compatibility and has no effect (dlcore
    has no pinned host tensors). Batches are CPU tensors.
    """

    __initialized = False

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None, batch_sampler: Sampler | Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        generator = _check_generator(generator, "DataLoader")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.in_order = in_order
        self.generator = generator
        self.multiprocessing_context = multiprocessing_context

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = "iterable"
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        else:
            self._dataset_kind = "map"
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == "iterable":
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator: _BaseIter | None = None
        if pin_memory:
            from ... import cuda  # noqa: PLC0415
            if not cuda.is_available():
                warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                              "memory won't be used.")
        self.__initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__initialized and name in ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                                           "persistent_workers"):
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def _index_stream_factory(self) -> Callable[[], Iterator[Any]]:
        """A function that starts one epoch's index stream (without holding on to the loader)."""
        return functools.partial(_index_stream, self._dataset_kind, self.batch_sampler, self.sampler, self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._reset()
        return self._iterator

    def __len__(self) -> int:
        if self._dataset_kind == "iterable":
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"num_workers={self.num_workers})")


def _index_stream(kind: str, batch_sampler: Any, sampler: Any, batch_size: int | None) -> Iterator[Any]:
    if kind == "iterable":
        return itertools.repeat([None] * batch_size if batch_sampler is not None else None)
    if batch_sampler is not None:
        return _index_batches(batch_sampler)
    return iter(sampler)


class _BaseIter:
    def __init__(self, loader: DataLoader) -> None:
        # No reference to the loader: a persistent loader holds its iterator, and a cycle would leave
        # the workers running until the garbage collector found it.
        self._loader_ref = weakref.ref(loader)
        self._new_index_stream = loader._index_stream_factory()
        self._dataset_kind = loader._dataset_kind
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        self._dataset = loader.dataset
        # Drawn before the sampler's own draws, as torch does, so one seed fixes both.
        self._base_seed = _draw_seed(loader.generator)

    def __iter__(self) -> "_BaseIter":
        return self

    def __len__(self) -> int:
        loader = self._loader_ref()
        if loader is None:
            raise TypeError("len() of a DataLoader iterator whose DataLoader is gone")
        return len(loader)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._indices = self._new_index_stream()
        self._fetcher = make_fetcher(self._dataset_kind, self._dataset, self._auto_collation, self._collate_fn,
                                     self._drop_last)

    def __next__(self) -> Any:
        return self._fetcher.fetch(next(self._indices))


# ----- worker processes -------------------------------------------------------------------------

_HEADER = struct.Struct("<I")
# Every open result-pipe end of the main process, for forked workers to close (see _worker_main).
_MAIN_PROCESS_READERS: "weakref.WeakSet[Any]" = weakref.WeakSet()
_PIPE_BYTES = 1 << 20


class _ResultPickler(pickle.Pickler):
    """Pickles a worker's reply with numpy buffers out of band (protocol 5), dlcore tensors as arrays,
    and large tensors as references to the shared-memory slots they were copied into (when ``slots``)."""

    def __init__(self, file: Any, buffers: list, slots: shared_batches.WorkerSlots | None) -> None:
        super().__init__(file, protocol=5, buffer_callback=buffers.append)
        self.dispatch_table = {**ForkingPickler._copyreg_dispatch_table, **ForkingPickler._extra_reducers}
        self.slots = slots
        self.placed: list[tuple] = []

    def persistent_id(self, obj: Any) -> Any:
        reference = shared_batches.slot_id(self.slots, obj)
        if reference is not None:
            self.placed.append(reference)
        return reference


class _ResultUnpickler(pickle.Unpickler):
    """Reads what _ResultPickler wrote; slot references become tensors copied out of the slot."""

    def __init__(self, file: Any, buffers: list, slots: shared_batches.MainSlots | None) -> None:
        super().__init__(file, buffers=buffers)
        self.slots = slots

    def persistent_load(self, reference: Any) -> Any:
        if self.slots is None:
            raise pickle.UnpicklingError("DataLoader: a worker sent a shared-memory batch to a pipe without slots")
        slot, path, shape, dtype = reference
        return self.slots.tensor(slot, path, tuple(shape), dtype)


def _encode(reply: Any, slots: shared_batches.WorkerSlots | None) -> tuple[bytes, list]:
    buffers: list = []
    stream = io.BytesIO()
    pickler = _ResultPickler(stream, buffers, slots)
    try:
        pickler.dump(reply)
    except BaseException:
        for slot, *_ in pickler.placed:  # never announced: the main process will not free them
            slots.busy[slot] = 0
        raise
    return _HEADER.pack(len(buffers)) + stream.getvalue(), buffers


def _configure_pipe(connection: Any) -> None:
    """Grows a result pipe's kernel buffer from 64 KB to 1 MB where Linux allows it: a batch then
    crosses in a few large writes instead of a ping-pong of 64 KB ones between the two processes."""
    size_flag = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if size_flag is None:
        return
    try:
        fcntl.fcntl(connection.fileno(), size_flag, _PIPE_BYTES)
    except OSError:  # above /proc/sys/fs/pipe-max-size for an unprivileged user: keep the default
        pass


def _receive(connection: Any, slots: shared_batches.MainSlots | None) -> Any:
    message = connection.recv_bytes()
    (count,) = _HEADER.unpack_from(message)
    buffers = [connection.recv_bytes() for _ in range(count)]
    return _ResultUnpickler(io.BytesIO(memoryview(message)[_HEADER.size:]), buffers, slots).load()


class _Sender:
    """A worker's outgoing replies, written by a thread so the worker keeps fetching while its
    previous batch waits for the main process to read it."""

    def __init__(self, connection: Any, slots: shared_batches.WorkerSlots | None) -> None:
        self._connection = connection
        self._slots = slots
        self._pending: Any = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="dlcore-dataloader-sender", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._pending.get()
            if item is None:
                return
            header, buffers = item
            try:
                self._connection.send_bytes(header)
                for buffer in buffers:
                    self._connection.send_bytes(buffer.raw())
            except OSError:  # the main process closed its end: nobody wants the rest
                return

    def send(self, reply: Any) -> None:
        try:
            self._pending.put(_encode(reply, self._slots))
        except Exception:  # an unpicklable batch: report that instead of losing the task
            task, epoch, _ = reply
            self._pending.put(_encode((task, epoch, _worker.WorkerFailure.from_current(_worker_id())), None))

    def close(self, flush: bool) -> None:
        self._pending.put(None)
        if flush:
            self._thread.join()


def _worker_id() -> int:
    info = _worker.get_worker_info()
    return -1 if info is None else info.id


def _worker_main(setup: _worker.WorkerSetup, index_queue: Any, connection: Any, done_event: Any, parent_pid: int,
                 forked: bool, slot_flags: Any) -> None:
    # A forked worker holds copies of the main process's ends of every result pipe open at the fork,
    # this loader's and any other's. Closed here, a pipe dies with the main process's end: a writer
    # still sending to it gets an error instead of waiting, and its buffered batches are freed.
    if forked:
        for reader in list(_MAIN_PROCESS_READERS):
            reader.close()
    slots = shared_batches.WorkerSlots(slot_flags) if slot_flags is not None else None
    sender = _Sender(connection, slots)
    try:
        _worker.worker_loop(setup, index_queue, sender, done_event, parent_pid)
    finally:
        sender.close(flush=not done_event.is_set() and os.getppid() == parent_pid)
        if slots is not None:
            slots.close()


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        context = loader.multiprocessing_context
        if context is None:
            context = _default_context()
        elif isinstance(context, str):
            context = multiprocessing.get_context(context)
        self._num_workers = loader.num_workers
        self._prefetch = max(1, loader.prefetch_factor) * self._num_workers
        self._timeout = loader.timeout
        self._in_order = loader.in_order
        self._persistent = loader.persistent_workers
        self._done_event = context.Event()
        self._workers: list = []
        self._index_queues: list = []
        self._readers: list = []
        self._main_slots: list = []  # per worker: its shared-memory slots as mapped here, or None
        self._finalizer = weakref.finalize(self, _stop_workers, os.getpid(), self._done_event, self._index_queues,
                                           self._readers, self._workers)
        forked = context.get_start_method() == "fork"
        if forked and self._collate_fn is default_collate:
            # Builds the dataset's batched path (dlcore's image datasets keep a uint8 tensor copy of
            # their images) here, once, so forked workers share it instead of each making its own.
            getattr(self._dataset, "_getitems_collated", None)
        try:
            for worker_id in range(self._num_workers):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()  # tiny messages; never keep the interpreter waiting on them
                reader, writer = context.Pipe(duplex=False)
                _configure_pipe(reader)
                self._readers.append(reader)
                _MAIN_PROCESS_READERS.add(reader)
                # One flag per slot (see shared_batches); as many slots as replies a worker can have
                # waiting to be read, plus the one it is writing.
                slot_flags = (context.RawArray("b", max(1, loader.prefetch_factor) + 1)
                              if shared_batches.shared_memory_usable() else None)
                self._main_slots.append(shared_batches.MainSlots(slot_flags) if slot_flags is not None else None)
                setup = _worker.WorkerSetup(self._dataset_kind, self._dataset, self._auto_collation, self._collate_fn,
                                            self._drop_last, self._base_seed, loader.worker_init_fn, worker_id,
                                            self._num_workers)
                process = context.Process(target=_worker_main, name=f"dlcore-dataloader-worker-{worker_id}",
                                          args=(setup, index_queue, writer, self._done_event, os.getpid(),
                                                forked, slot_flags),
                                          daemon=True)
                process.start()
                writer.close()
                self._index_queues.append(index_queue)
                self._workers.append(process)
        except BaseException:
            self._shutdown_workers()
            raise
        self._epoch = 0
        self._start_epoch()

    def _start_epoch(self) -> None:
        self._epoch += 1
        self._indices = self._new_index_stream()
        self._sent = 0  # tasks dispatched this epoch, numbered 0, 1, ...
        self._handed = 0  # replies taken (yielded, raised or skipped)
        self._next_task = 0  # with in_order, the task whose reply comes next
        self._replies: dict = {}
        self._active = [True] * self._num_workers  # an IterableDataset worker drops out when its copy ends
        self._next_worker = itertools.cycle(range(self._num_workers))
        self._sampler_done = False
        for _ in range(self._prefetch):
            self._dispatch()

    def _reset(self) -> None:
        """A new epoch on persistent workers; replies still in flight from the old one are ignored."""
        if self._shutdown:
            raise RuntimeError("DataLoader: the persistent workers were shut down")
        self._start_epoch()

    def _dispatch(self) -> None:
        """Sends the next index batch to the next worker still active, if there is one."""
        if self._sampler_done or not any(self._active):
            return
        worker_id = next(self._next_worker)
        while not self._active[worker_id]:
            worker_id = next(self._next_worker)
        try:
            index = next(self._indices)
        except StopIteration:
            self._sampler_done = True
            return
        self._index_queues[worker_id].put((self._sent, self._epoch, index))
        self._sent += 1

    def __next__(self) -> Any:
        while True:
            if self._shutdown or self._handed == self._sent:  # nothing in flight: the epoch is over
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            reply = self._take_reply()
            self._handed += 1
            self._dispatch()
            if isinstance(reply, _worker.IterableExhausted):
                self._active[reply.worker_id] = False
                continue
            if isinstance(reply, _worker.WorkerFailure):
                reply.reraise()
            return reply

    def _take_reply(self) -> Any:
        while True:
            if self._in_order:
                if self._next_task in self._replies:
                    self._next_task += 1
                    return self._replies.pop(self._next_task - 1)
            elif self._replies:
                return self._replies.pop(next(iter(self._replies)))
            self._receive_some()

    def _receive_some(self) -> None:
        """Waits for replies and stores them; checks the workers while waiting, and the timeout."""
        started = time.monotonic()
        sentinels = [process.sentinel for process in self._workers]
        while True:
            wait_for = _worker.STATUS_CHECK_INTERVAL
            if self._timeout > 0:
                wait_for = max(0.0, min(wait_for, started + self._timeout - time.monotonic()))
            ready = multiprocessing.connection.wait(self._readers + sentinels, timeout=wait_for)
            replies = [reader for reader in ready if reader in self._readers]
            for reader in replies:
                self._read_reply(reader)
            if replies:
                return
            self._check_workers_alive()
            if self._timeout > 0 and time.monotonic() - started >= self._timeout:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _read_reply(self, reader: Any) -> None:
        try:
            task, epoch, result = _receive(reader, self._main_slots[self._readers.index(reader)])
        except (EOFError, OSError):  # the worker went away mid-message
            # Its exit code names the cause; a loaded machine can take seconds to finish the exit.
            self._check_workers_alive(wait=10.0)
            raise RuntimeError("DataLoader: lost the connection to a worker process") from None
        if epoch == self._epoch:  # replies from an abandoned epoch of persistent workers are stale
            self._replies[task] = result

    def _check_workers_alive(self, wait: float = 0.0) -> None:
        if wait:
            multiprocessing.connection.wait([p.sentinel for p in self._workers], timeout=wait)
        dead = [p for p in self._workers if not p.is_alive()]
        if dead:
            details = ", ".join(f"{p.pid} (exit code {p.exitcode})" for p in dead)
            self._shutdown_workers()
            raise RuntimeError(f"DataLoader worker (pid(s) {details}) exited unexpectedly")

    @property
    def _shutdown(self) -> bool:
        return not self._finalizer.alive

    def _shutdown_workers(self) -> None:
        """Stops the workers; safe to call more than once. Also runs when the iterator is collected
        (or at interpreter exit) through a weakref finalizer, which keeps the pipes and processes
        alive until it has used them, whatever order the collector frees things in."""
        self._finalizer()


def _stop_workers(owner_pid: int, done_event: Any, index_queues: list, readers: list, workers: list) -> None:
    if os.getpid() != owner_pid:
        # A forked child (another loader's worker) inherited this iterator; the workers are not its own.
        return
    try:
        done_event.set()
        for index_queue in index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):
                pass
        for reader in readers:  # a worker blocked writing a batch now fails instead of waiting
            reader.close()
        deadline = time.monotonic() + _worker.STATUS_CHECK_INTERVAL  # one grace period for all of them
        for process in workers:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in workers:
            if process.is_alive():  # stuck in user code: it gets no more say
                process.terminate()
                process.join(timeout=_worker.STATUS_CHECK_INTERVAL)
        for index_queue in index_queues:
            index_queue.close()
    except Exception as error:  # at interpreter exit, parts of multiprocessing may already be gone
        warnings.warn(f"DataLoader: stopping the worker processes failed ({type(error).__name__}: {error})")


__all__ = ["DataLoader"]
