#!/usr/bin/env python3
"""What dl.profiler costs a LeNet-5 MNIST training run on the CPU: off (compiled in, not profiling)
against a build without it, and on.

Three configurations train the same LeNet-5 (seed 0, SGD momentum 0.9) on the same real MNIST batches
(--steps batches of --batch-size, held in memory; data loading excluded), each in its own process:
"before" imports the dlcore package in --before (a build without the profiler, e.g. /work/main/python),
"after" the one in --after (default: this checkout's python/) with the profiler off, and "after, on"
the same build inside ``dl.profiler.profile()``. Rounds run before / after / after-on, then the reverse, so
drifting machine load hits all three alike; each process reports the median of --repeats timed passes after a
warm-up pass. Prints after/before (the cost of the compiled-in profiler: the brief's one branch per op)
and on/off, and writes bench/results/profiler_overhead_cpu.json with the command, load and date.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import REPO, cpu_name, write_result

CONFIGS = (("before", "off"), ("after", "off"), ("after", "on"))


def worker(args: argparse.Namespace) -> int:
    """Times --repeats passes of --steps LeNet training steps in this process; prints one JSON line."""
    import numpy as np

    import dlcore as dl
    from dlcore.data import MNIST, DataLoader, data_root
    from dlcore.models import LeNet5

    dl.set_num_threads(args.threads)
    dl.manual_seed(0)
    dataset = MNIST(data_root(args.data), train=True)
    n = args.steps * args.batch_size
    loader = DataLoader(dataset, args.batch_size, shuffle=False, device="cpu", limit=n)
    order = np.random.default_rng(0).permutation(n)
    batches = [dl.from_numpy(order[i:i + args.batch_size]) for i in range(0, n, args.batch_size)]
    model = LeNet5()
    optimizer = dl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gather = dl._C.functional.gather_normalize
    mean, std = list(dataset.mean), list(dataset.std)

    def train_pass() -> None:
        for idx in batches:
            x, y = gather(loader._images, loader._labels, idx, mean, std, False)
            optimizer.zero_grad()
            dl.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

    def profiled_pass() -> None:
        with dl.profiler.profile(activities=[dl.profiler.ProfilerActivity.CPU]) as prof:
            train_pass()
        profiled_pass.events = len(prof.events())

    run = profiled_pass if args.worker == "on" else train_pass
    run()  # warm-up
    samples = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(samples), "samples": samples,
                      "events_per_pass": getattr(profiled_pass, "events", 0),
                      "dlcore_package": str(Path(dl.__file__).resolve().parent)}))
    return 0


def run_config(args: argparse.Namespace, package: Path, mode: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", mode, "--steps", str(args.steps), "--batch-size",
               str(args.batch_size), "--repeats", str(args.repeats), "--threads", str(args.threads)]
    if args.data:
        command += ["--data", args.data]
    done = subprocess.run(command, env=dict(os.environ, PYTHONPATH=str(package)), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{package} ({mode}) failed ({done.returncode}):\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["dlcore_package"]) != (package / "dlcore").resolve():
        raise RuntimeError(f"imported dlcore from {result['dlcore_package']}, not from {package}")
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", type=Path, default=Path("/work/main/python"),
                   help="folder holding a dlcore/ without the profiler, built like --after")
    p.add_argument("--after", type=Path, default=REPO / "python", help="folder holding a dlcore/ with the profiler")
    p.add_argument("--before-commit", default=None, help="the commit --before was built from (recorded in the result)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=200, help="LeNet training steps per timed pass")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="timed passes per process")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=None, help="dataset root (default $DLCORE_DATA)")
    p.add_argument("--worker", choices=["off", "on"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    packages = {"before": args.before.resolve(), "after": args.after.resolve()}
    for label, package in packages.items():
        if not (package / "dlcore" / "__init__.py").is_file():
            print(f"error: --{label} {package} holds no dlcore/ package", file=sys.stderr)
            return 2

    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} "
          f"on {os.cpu_count()} CPUs")
    rounds: list[dict[str, Any]] = []
    for k in range(args.rounds):
        this_round = {}
        for build, mode in (CONFIGS if k % 2 == 0 else CONFIGS[::-1]):  # no configuration always runs first
            label = f"{build}_{mode}"
            this_round[label] = run_config(args, packages[build], mode)
            print(f"  round {k + 1}/{args.rounds} {label:9s}: {this_round[label]['seconds']:.3f} s", flush=True)
        rounds.append(this_round)
    load_end = os.getloadavg()
    median = {label: statistics.median(r[label]["seconds"] for r in rounds) for label in rounds[0]}
    off_over_before = median["after_off"] / median["before_off"]
    on_over_off = median["after_on"] / median["after_off"]
    per_round = [r["after_off"]["seconds"] / r["before_off"]["seconds"] for r in rounds]
    print(f"LeNet-5, {args.steps} steps of {args.batch_size} MNIST images, {args.threads} threads: before "
          f"{median['before_off']:.3f} s, after (profiler off) {median['after_off']:.3f} s, after (profiling) "
          f"{median['after_on']:.3f} s")
    print(f"  off/before = {off_over_before:.3f} (per round {', '.join(f'{r:.3f}' for r in per_round)}); "
          f"on/off = {on_over_off:.3f}; {rounds[0]['after_on']['events_per_pass']} events per profiled pass")
    print(f"load average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    payload = {
        "benchmark": "profiler_overhead", "device": "cpu", "cpu": cpu_name(), "cores": os.cpu_count(),
        "threads": args.threads, "steps": args.steps, "batch_size": args.batch_size, "repeats": args.repeats,
        "before": str(packages["before"]), "before_commit": args.before_commit, "after": str(packages["after"]),
        "date": started,
        # Builds of the same sources can differ (CUDA on or off, flags): the modules' sizes tell them apart.
        "module_bytes": {label: sum(f.stat().st_size for f in (package / "dlcore").glob("_C*.so"))
                         for label, package in packages.items()},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "load_average_start": list(load_start), "load_average_end": list(load_end),
        "median_seconds": median, "profiler_off_over_before": off_over_before,
        "profiler_off_over_before_per_round": per_round, "profiler_on_over_off": on_over_off,
        "events_per_profiled_pass": rounds[0]["after_on"]["events_per_pass"],
        "rounds": [{label: {"seconds": r[label]["seconds"], "samples": r[label]["samples"]} for label in r}
                   for r in rounds],
    }
    print("wrote", write_result("profiler_overhead_cpu", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
