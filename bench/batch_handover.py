#!/usr/bin/env python3
"""How a DataLoader worker's batch reaches the main process: the pipe against shared-memory slots.

Through dlcore.utils.data.DataLoader itself (one worker, prefetch 2): the worker hands out a ready
float32 tensor of each size (CIFAR 128x3x32x32 up to ImageNet 64x3x224x224), so only the hand-over
is timed: wall ms per batch in the main process and the main process's CPU ms per batch (the time a
training loop loses), with tensors of every size forced onto the pipe and then onto the slots
(shared_batches.SHARED_MEMORY_MIN_BYTES set to infinity or 0 before the workers fork), alternated.
Writes bench/results/batch_handover_cpu.json; the crossover sets SHARED_MEMORY_MIN_BYTES.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from common import machine, write_result

import dlcore as dl
from dlcore.utils.data import shared_batches

SHAPES = {"mnist_b16": (16, 1, 28, 28), "mnist_b64": (64, 1, 28, 28), "b64_3x32x32": (64, 3, 32, 32),
          "cifar_b128": (128, 3, 32, 32), "b16_112": (16, 3, 112, 112), "b32_160": (32, 3, 160, 160),
          "b32_224": (32, 3, 224, 224), "imagenet_b64_224": (64, 3, 224, 224)}


class ReadyBatches(dl.utils.data.Dataset):
    """``count`` copies of one pre-made batch, so the worker spends its time sending, not making it."""

    def __init__(self, shape: tuple[int, ...], count: int) -> None:
        self.batch, self.count = dl.randn(*shape), count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Any:
        return self.batch


def per_batch(dataset: ReadyBatches, min_bytes: float) -> tuple[float, float]:
    shared_batches.SHARED_MEMORY_MIN_BYTES = min_bytes
    loader = dl.utils.data.DataLoader(dataset, batch_size=None, num_workers=1)
    iterator = iter(loader)
    next(iterator)  # the fork and the first (slot-creating) batch are not timed
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in iterator:
        pass
    batches = len(dataset) - 1
    return 1e3 * (time.perf_counter() - wall) / batches, 1e3 * (time.process_time() - cpu) / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    dl.set_num_threads(1)
    results: dict[str, Any] = {"load_before": open("/proc/loadavg").read().split()[:3], "shapes": {}}
    transports = {"pipe": float("inf"), "shared_memory": 0}
    for name, shape in SHAPES.items():
        dataset = ReadyBatches(shape, args.batches + 1)
        samples: dict[str, list] = {t: [] for t in transports}
        for round_index in range(args.rounds):
            order = list(transports) if round_index % 2 == 0 else list(transports)[::-1]
            for transport in order:
                samples[transport].append(per_batch(dataset, transports[transport]))
        entry = {"megabytes": dataset.batch.numel() * 4 / 1e6}
        for transport, values in samples.items():
            entry[transport] = {"wall_ms_per_batch": statistics.median(v[0] for v in values),
                                "main_cpu_ms_per_batch": statistics.median(v[1] for v in values)}
        results["shapes"][name] = entry
        print(f"{name:>18} {entry['megabytes']:6.1f} MB  pipe {entry['pipe']['wall_ms_per_batch']:7.2f} ms "
              f"(main cpu {entry['pipe']['main_cpu_ms_per_batch']:6.2f})  shared memory "
              f"{entry['shared_memory']['wall_ms_per_batch']:7.2f} ms "
              f"(main cpu {entry['shared_memory']['main_cpu_ms_per_batch']:6.2f})")
    results["load_after"] = open("/proc/loadavg").read().split()[:3]
    results["machine"] = machine("cpu")
    print(write_result("batch_handover_cpu", results))


if __name__ == "__main__":
    main()
