#!/usr/bin/env python3
"""Data loading: dlcore.utils.data.DataLoader against the engine-specific dlcore.data.DataLoader and
torch.utils.data.DataLoader, and the cost of bringing worker results back to the main process.

1. One MNIST training epoch in batches of 64 (LeNet's), no workers: dlcore.data.DataLoader (one
   gather-normalise kernel per batch), dl.utils.data.DataLoader over dl.data.MNIST without a
   transform and with ToTensor+Normalize (both served by the dataset's batched fetch), and torch's
   DataLoader over a TensorDataset of the same normalised images (per-sample indexing and stacking).
2. Per-sample transforms (RandomCrop(28, padding=2), ToTensor, Normalize) on the MNIST test set,
   batch 128, with 0 and 2 workers.
3. Moving a float32 batch from a worker process into a dlcore tensor in the main process, per batch,
   for three transports: the DataLoader's (protocol-5 pickle, numpy buffers out of band over a
   pipe), a multiprocessing.Queue (pickled in-band by its feeder thread), and a new shared-memory
   segment per batch. Each producer sends ready-made arrays, so only the transport is timed.

Timings alternate between the variants (bench/common.py) and report medians; the machine's load
average is recorded. Writes bench/results/data_loader_<name>.json.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from multiprocessing import shared_memory
from typing import Any, Callable

import numpy as np

from common import alternating_median_times, machine, write_result


def epoch(loader: Any) -> Callable[[], None]:
    def run() -> None:
        for _ in loader:
            pass
    return run


def loader_epochs(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    import dlcore as dl
    from dlcore.data import MNIST, normalize_images
    from dlcore.data import DataLoader as EngineLoader
    from dlcore.vision import transforms as T

    root = args.data
    train = MNIST(root, train=True)
    normalized = MNIST(root, train=True, transform=T.Compose([T.ToTensor(), T.Normalize(MNIST.mean, MNIST.std)]))
    dl.manual_seed(0)
    images = torch.from_numpy(normalize_images(train.images, MNIST.mean, MNIST.std))
    torch_set = torch.utils.data.TensorDataset(images, torch.from_numpy(train.labels.astype(np.int64)))
    passes = {
        "dlcore.data.DataLoader": epoch(EngineLoader(train, 64, shuffle=True, seed=0)),
        "dl.utils.data.DataLoader, no transform": epoch(dl.utils.data.DataLoader(train, batch_size=64, shuffle=True)),
        "dl.utils.data.DataLoader, ToTensor+Normalize": epoch(
            dl.utils.data.DataLoader(normalized, batch_size=64, shuffle=True)),
        "torch DataLoader, TensorDataset": epoch(torch.utils.data.DataLoader(torch_set, batch_size=64, shuffle=True)),
    }
    timed = alternating_median_times(passes, args.repeats)
    return {name: {"seconds": median, "samples": samples, "batches": 938, "us_per_batch": median / 938 * 1e6}
            for name, (median, samples) in timed.items()}


def transform_epochs(args: argparse.Namespace) -> dict[str, Any]:
    import dlcore as dl
    from dlcore.data import MNIST
    from dlcore.vision import transforms as T

    augmented = MNIST(args.data, train=False, transform=T.Compose(
        [T.RandomCrop(28, padding=2), T.ToTensor(), T.Normalize(MNIST.mean, MNIST.std)]))
    passes = {f"{workers} workers": epoch(dl.utils.data.DataLoader(augmented, batch_size=128, shuffle=True,
                                                                   num_workers=workers,
                                                                   persistent_workers=workers > 0))
              for workers in (0, 2)}
    timed = alternating_median_times(passes, max(1, args.repeats // 2))
    return {name: {"seconds": median, "samples": samples, "us_per_sample": median / len(augmented) * 1e6}
            for name, (median, samples) in timed.items()}


# ----- transports ---------------------------------------------------------------------------------

def _pipe_producer(connection: Any, shape: tuple[int, ...], count: int) -> None:
    from dlcore.utils.data.dataloader import _encode
    batch = np.ones(shape, np.float32)
    for _ in range(count):
        header, buffers = _encode((0, 0, batch))
        connection.send_bytes(header)
        for buffer in buffers:
            connection.send_bytes(buffer.raw())
    connection.close()


def _queue_producer(queue: Any, shape: tuple[int, ...], count: int) -> None:
    batch = np.ones(shape, np.float32)
    for _ in range(count):
        queue.put((0, 0, batch))
    queue.close()
    queue.join_thread()


def _shm_producer(queue: Any, shape: tuple[int, ...], count: int) -> None:
    batch = np.ones(shape, np.float32)
    for _ in range(count):
        segment = shared_memory.SharedMemory(create=True, size=batch.nbytes)
        np.ndarray(batch.shape, batch.dtype, buffer=segment.buf)[...] = batch
        queue.put(segment.name)
        segment.close()
    queue.close()
    queue.join_thread()


def _consume(receive: Callable[[], Any], count: int) -> float:
    """Seconds per batch in steady state: the clock starts once the first batch has arrived."""
    import dlcore as dl
    dl.from_numpy(receive())
    start = time.perf_counter()
    for _ in range(count - 1):
        dl.from_numpy(receive())
    return (time.perf_counter() - start) / (count - 1)


def transport_times(shape: tuple[int, ...], count: int) -> dict[str, float]:
    """Seconds per batch, received and turned into a dlcore tensor, for each transport."""
    from multiprocessing import resource_tracker

    from dlcore.utils.data.dataloader import _configure_pipe, _receive

    context = multiprocessing.get_context("fork")
    results = {}
    reader, writer = context.Pipe(duplex=False)
    _configure_pipe(reader)
    producer = context.Process(target=_pipe_producer, args=(writer, shape, count))
    producer.start()
    writer.close()
    results["pipe, protocol 5 out of band (DataLoader)"] = _consume(lambda: _receive(reader)[2], count)
    producer.join()

    queue = context.Queue()
    producer = context.Process(target=_queue_producer, args=(queue, shape, count))
    producer.start()
    results["multiprocessing.Queue"] = _consume(lambda: queue.get()[2], count)
    producer.join()

    queue = context.Queue()
    segments: list = []

    def from_segment() -> np.ndarray:
        if segments:  # the previous batch has been copied into its tensor: release its segment
            previous = segments.pop()
            previous.close()
            previous.unlink()
        segment = shared_memory.SharedMemory(name=queue.get())
        segments.append(segment)
        return np.ndarray(shape, np.float32, buffer=segment.buf)

    # The consumer unlinks every segment itself; multiprocessing's resource tracker, which would
    # also count them (twice, from both processes, in Python 3.11), stays out of it.
    tracked = resource_tracker.register, resource_tracker.unregister
    resource_tracker.register = resource_tracker.unregister = lambda *args: None
    try:
        producer = context.Process(target=_shm_producer, args=(queue, shape, count))
        producer.start()
        results["shared memory segment per batch"] = _consume(from_segment, count)
        producer.join()
        for segment in segments:
            segment.close()
            segment.unlink()
    finally:
        resource_tracker.register, resource_tracker.unregister = tracked
    return results


def transports(args: argparse.Namespace) -> dict[str, Any]:
    out = {}
    for label, shape in [("MNIST batch 64 (200 KB)", (64, 1, 28, 28)), ("CIFAR batch 128 (1.5 MB)", (128, 3, 32, 32)),
                         ("batch of 12 MB", (1024, 3, 32, 32))]:
        count = 400 if shape[0] < 1024 else 60
        rounds = [transport_times(shape, count) for _ in range(args.repeats)]
        out[label] = {name: {"us_per_batch": float(np.median([r[name] for r in rounds])) * 1e6,
                             "samples_us": [r[name] * 1e6 for r in rounds]} for name in rounds[0]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("DLCORE_DATA"), help="directory holding MNIST/raw")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="cpu")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    import torch

    import dlcore as dl
    dl.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    result = {"benchmark": "data_loader", "machine": machine("cpu"), "threads": args.threads,
              "load_average_start": load_start}
    result["mnist_epoch_batch64_no_workers"] = loader_epochs(args)
    result["mnist_test_per_sample_transforms_batch128"] = transform_epochs(args)
    result["worker_transport"] = transports(args)
    result["load_average_end"] = os.getloadavg()
    path = write_result(f"data_loader_{args.name}", result, args.output)
    for section in ("mnist_epoch_batch64_no_workers", "mnist_test_per_sample_transforms_batch128"):
        print(section)
        for name, entry in result[section].items():
            extra = {k: round(v, 1) for k, v in entry.items() if k.startswith("us_")}
            print(f"  {name:48s} {entry['seconds']:.4f} s  {extra}")
    print("worker_transport (us per batch, median)")
    for label, entry in result["worker_transport"].items():
        print(f"  {label}: " + ", ".join(f"{name} {v['us_per_batch']:.0f}" for name, v in entry.items()))
    print(f"load average {load_start} -> {result['load_average_end']}; wrote {path}")


if __name__ == "__main__":
    main()
