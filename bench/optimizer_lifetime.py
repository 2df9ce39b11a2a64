#!/usr/bin/env python3
"""Resident memory over many optimizer create/drop cycles (issue 11: a dropped optimizer must free
its parameters, gradients and state).

Two loops, each --cycles long, RSS sampled every --every cycles after a warm-up: (1) build
``nn.Linear(784, 256)`` and ``dl.optim.SGD(layer.parameters(), lr=0.1)``, drop both; (2) build
LeNet-5 and ``dl.optim.Adam``, take one training step on a batch of 8 (so gradients and Adam's
state exist), drop everything. Nothing calls ``gc.collect()``: the optimizer must go away by
reference counting alone, as a training script's would. Reports RSS at the first and last sample
and its growth per 1,000 cycles (a leaked Linear + SGD was 0.8 MB a cycle; a flat run is within
allocator noise, well under a megabyte in total), writes bench/results/optimizer_lifetime_cpu.json
and exits 1 when a loop grows by more than --limit-mb.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

from common import machine, write_result


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def run_loop(label: str, cycle, cycles: int, every: int, warmup: int) -> dict:
    for _ in range(warmup):  # allocator pools and lazily created kernels settle first
        cycle()
    samples = []
    start = time.perf_counter()
    for i in range(cycles):
        cycle()
        if i % every == 0 or i == cycles - 1:
            samples.append((i, rss_mb()))
    seconds = time.perf_counter() - start
    growth = samples[-1][1] - samples[0][1]
    result = {"cycles": cycles, "seconds": seconds, "rss_first_mb": samples[0][1], "rss_last_mb": samples[-1][1],
              "growth_mb": growth, "growth_mb_per_1000_cycles": growth / max(cycles - 1, 1) * 1000,
              "samples": samples}
    print(f"{label}: {cycles} cycles in {seconds:.1f} s, RSS {samples[0][1]:.1f} -> {samples[-1][1]:.1f} MiB "
          f"({growth:+.2f} MiB)")
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=10000)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--limit-mb", type=float, default=16.0, help="fail when a loop's RSS grows by more")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--output", default=None)
    args = p.parse_args()

    import dlcore as dl
    from dlcore.models import LeNet5

    dl.set_num_threads(args.threads)
    x, y = dl.randn(8, 1, 28, 28), dl.tensor([i % 10 for i in range(8)])

    def linear_sgd() -> None:
        layer = dl.nn.Linear(784, 256)
        dl.optim.SGD(layer.parameters(), lr=0.1)

    def lenet_adam() -> None:
        model = LeNet5()
        opt = dl.optim.Adam(model.parameters(), lr=1e-3)
        opt.zero_grad()
        dl.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    loops = {"linear_sgd": run_loop("Linear(784, 256) + SGD", linear_sgd, args.cycles, args.every, args.warmup),
             "lenet_adam": run_loop("LeNet-5 + Adam, one step", lenet_adam, args.cycles, args.every, args.warmup)}
    write_result("optimizer_lifetime_cpu", {"machine": machine("cpu"), "threads": args.threads, "loops": loops},
                 args.output)
    grown = [name for name, loop in loops.items() if loop["growth_mb"] > args.limit_mb]
    if grown:
        print(f"error: RSS grew by more than {args.limit_mb} MiB in {grown}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
