#!/usr/bin/env python3
"""dlcore before and after a change, both against PyTorch, measured in one run (issue 8 §6).

Runs bench scripts (lenet_train.py --device cpu, vgg_cifar_train.py) once per build per round, each
in its own subprocess with PYTHONPATH set to that build's package directory (--before PATH, --after
PATH: folders holding a built dlcore/, e.g. <checkout>/python), alternating
before/after/before/after so that changing machine load hits both builds alike. Each run reports
its own medians of dlcore and PyTorch times; per build this takes the median over the rounds and
reports dlcore-after / dlcore-before, each build's dlcore / PyTorch, and the two builds' PyTorch
times against each other (PyTorch is the same in both, so that ratio shows how much the load
moved); and, load-normalised, after / before of dlcore / PyTorch taken within each run. Records the load average at start and end and writes bench/results/before_after_<name>.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import REPO, cpu_name, write_result

BENCH = REPO / "bench"


def script_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """Each benchmark's command line (without the interpreter and --output), shortened by --steps."""
    common = ["--threads", str(args.threads), "--repeats", str(args.repeats)]
    commands = {
        "lenet": [str(BENCH / "lenet_train.py"), "--device", "cpu", "--steps", str(args.lenet_steps), *common],
        "vgg": [str(BENCH / "vgg_cifar_train.py"), "--device", "cpu", "--steps", str(args.vgg_steps), *common],
    }
    if args.data:
        commands["lenet"] += ["--data", args.data]
    return {name: commands[name] for name in args.scripts}


def run_once(command: list[str], package: Path, scratch: Path, label: str) -> dict[str, Any]:
    """One bench run against the dlcore in `package`; returns the JSON it wrote."""
    output = scratch / f"{label}.json"
    env = dict(os.environ, PYTHONPATH=str(package))
    completed = subprocess.run([sys.executable, *command, "--output", str(output)], env=env,
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{label}: {' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}")
    result = json.loads(output.read_text())
    imported = Path(result["machine"]["dlcore_package"])
    if imported != (package / "dlcore").resolve():
        raise RuntimeError(f"{label}: imported dlcore from {imported}, not from {package}")
    return result


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-build medians over the rounds and the ratios the budget is judged by."""
    median = {build: {framework: statistics.median(r[build][f"{framework}_seconds"] for r in rounds)
                      for framework in ("dlcore", "torch")} for build in ("before", "after")}
    paired = [r["after"]["dlcore_seconds"] / r["before"]["dlcore_seconds"] for r in rounds]
    # Within one run dlcore and PyTorch alternate pass by pass, so this ratio shares the run's load.
    against_torch = {build: statistics.median(r[build]["dlcore_seconds"] / r[build]["torch_seconds"] for r in rounds)
                     for build in ("before", "after")}
    return {
        "median_seconds": median,
        "dlcore_after_over_before": median["after"]["dlcore"] / median["before"]["dlcore"],
        "dlcore_after_over_before_per_round": paired,
        "dlcore_over_torch": {build: median[build]["dlcore"] / median[build]["torch"] for build in median},
        "dlcore_over_torch_median_of_runs": against_torch,
        "against_torch_after_over_before": against_torch["after"] / against_torch["before"],
        "torch_after_over_before": median["after"]["torch"] / median["before"]["torch"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, type=Path, help="folder holding the 'before' dlcore package")
    p.add_argument("--after", required=True, type=Path, help="folder holding the 'after' dlcore package")
    p.add_argument("--scripts", nargs="+", choices=["lenet", "vgg"], default=["lenet", "vgg"])
    p.add_argument("--rounds", type=int, default=3, help="before/after pairs per script")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="timed passes per framework inside each run")
    p.add_argument("--lenet-steps", type=int, default=300, help="LeNet batches per timed pass")
    p.add_argument("--vgg-steps", type=int, default=10, help="CifarVGG steps per timed pass")
    p.add_argument("--budget", type=float, default=0.03, help="allowed growth of dlcore's time (0.03 = 3%%)")
    p.add_argument("--data", default=None, help="dataset root for LeNet (default $DLCORE_DATA)")
    p.add_argument("--name", default="cpu", help="result file: bench/results/before_after_<name>.json")
    args = p.parse_args()
    for label, package in (("--before", args.before), ("--after", args.after)):
        if not (package / "dlcore" / "__init__.py").is_file():
            print(f"error: {label} {package} holds no dlcore/ package", file=sys.stderr)
            return 2
    before, after = args.before.resolve(), args.after.resolve()

    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} "
          f"on {os.cpu_count()} CPUs")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="before_after_") as tmp:
        scratch = Path(tmp)
        for script, command in script_commands(args).items():
            rounds = []
            for k in range(args.rounds):
                pair = {}
                for build, package in (("before", before), ("after", after)):
                    run = run_once(command, package, scratch, f"{script}_{k}_{build}")
                    pair[build] = run
                    print(f"  {script} round {k + 1}/{args.rounds} {build:6s}: dlcore {run['dlcore_seconds']:.3f} s, "
                          f"PyTorch {run['torch_seconds']:.3f} s", flush=True)
                rounds.append(pair)
            summary = summarise(rounds)
            results[script] = {"command": " ".join([Path(command[0]).name, *command[1:]]),
                               "rounds": [{build: {key: pair[build][key] for key in
                                                   ("dlcore_seconds", "torch_seconds", "dlcore_samples", "torch_samples")}
                                           for build in pair} for pair in rounds],
                               **summary}
            m = summary["median_seconds"]
            growth = summary["dlcore_after_over_before"] - 1
            print(f"{script}: dlcore before {m['before']['dlcore']:.3f} s, after {m['after']['dlcore']:.3f} s, "
                  f"after/before = {summary['dlcore_after_over_before']:.3f} "
                  f"({'within' if growth <= args.budget else 'OVER'} the {args.budget:.0%} budget); "
                  f"dlcore/PyTorch before {summary['dlcore_over_torch']['before']:.3f}, "
                  f"after {summary['dlcore_over_torch']['after']:.3f}; "
                  f"PyTorch after/before {summary['torch_after_over_before']:.3f}; "
                  f"(dlcore/PyTorch within runs) after/before {summary['against_torch_after_over_before']:.3f}")
            versions = {build: rounds[0][build]["machine"]["dlcore"] for build in ("before", "after")}
            results[script]["dlcore_versions"] = versions
            machine_info = rounds[0]["before"]["machine"]
    load_end = os.getloadavg()
    print(f"load average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")
    payload = {
        "benchmark": "before_after", "device": "cpu", "cpu": cpu_name(), "cores": os.cpu_count(),
        "threads": args.threads, "budget": args.budget, "before": str(before), "after": str(after),
        "python": platform.python_version(), "torch": machine_info["torch"], "numpy": machine_info["numpy"],
        "date": started, "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "load_average_start": list(load_start), "load_average_end": list(load_end), "scripts": results,
    }
    print("wrote", write_result(f"before_after_{args.name}", payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
