"""Shared pieces of the benchmarks: machine description, timing, result files.

Every result file records what produced it (command, versions, device name, thread count, date) so
a number in the README can always be traced back to a run.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]


def _dlcore_on_pythonpath() -> bool:
    entries = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    return any((Path(entry) / "dlcore" / "__init__.py").is_file() for entry in entries)


# The checkout's package, unless PYTHONPATH names one (bench/before_after.py points it at each
# build in turn); machine() records which one was imported.
if not _dlcore_on_pythonpath():
    sys.path.insert(0, str(REPO / "python"))


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine(device: str) -> dict[str, Any]:
    import numpy
    import torch

    import dlcore
    info: dict[str, Any] = {
        "cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": numpy.__version__, "torch": torch.__version__, "dlcore": dlcore.__version__,
        "dlcore_package": str(Path(dlcore.__file__).resolve().parent),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def median_time(fn: Callable[[], None], repeats: int, sync: Callable[[], None] = lambda: None) -> tuple[float, list[float]]:
    """Runs fn once to warm up, then `repeats` times; returns the median seconds and all samples."""
    fn()
    sync()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def alternating_median_times(passes: dict[str, Callable[[], None]], repeats: int,
                             syncs: dict[str, Callable[[], None]] | None = None) -> dict[str, tuple[float, list[float]]]:
    """Runs every pass once to warm up, then times them in turns for `repeats` rounds, reversing the
    order every other round so that a drift in machine load falls on all of them alike; returns
    each pass's median seconds and all its samples."""
    syncs = syncs or {}
    for name, fn in passes.items():
        fn()
        syncs.get(name, lambda: None)()
    samples: dict[str, list[float]] = {name: [] for name in passes}
    names = list(passes)
    for round_index in range(repeats):
        for name in (names if round_index % 2 == 0 else names[::-1]):
            sync = syncs.get(name, lambda: None)
            start = time.perf_counter()
            passes[name]()
            sync()
            samples[name].append(time.perf_counter() - start)
    return {name: (statistics.median(s), s) for name, s in samples.items()}


def training_flops(model: Any, batch: Any) -> float:
    """FLOPs of one training step of a torch `model` on `batch`, over its convolutions and linear
    layers: 2 per multiply-add, for the forward pass, the weight gradients and the input gradients
    (none for the first layer: the batch needs no gradient). Normalisation, activations, pooling
    and the loss are left out, so GFLOP/s from it understate the work a little. Runs one forward
    pass on a copy of the model, leaving the model's state (batch-norm statistics) untouched."""
    import copy

    import torch

    macs: list[float] = []

    def count(module: torch.nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        if isinstance(module, torch.nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        else:
            per_output = module.in_features
        macs.append(float(output.numel()) * per_output)

    probe = copy.deepcopy(model)
    for module in probe.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            module.register_forward_hook(count)
    with torch.no_grad():
        probe(batch)
    forward = 2 * sum(macs)
    return forward + forward + (forward - 2 * macs[0])


def write_result(name: str, payload: dict[str, Any], path: str | None = None) -> Path:
    """Writes `payload` to bench/results/<name>.json, or to `path` when given (a scratch file, as
    bench/before_after.py collects its rounds)."""
    out = Path(path) if path else REPO / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    return out
