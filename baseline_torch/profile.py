"""Observability as in the course lab: TensorBoard logs (scalars and the model graph), the
torch.profiler top-10 operators of a training step on the CPU and on CUDA, and a batch-size sweep
(1, 16, 64) of training throughput on the CPU and on the GPU when there is one.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import torch
from torch.profiler import ProfilerActivity, profile

from .cli import common_parser, prepare, require, run_main, split_list
from .data import Split, batches, load_dataset
from .models import build_model, dataset_for
from .results import format_table, hardware_info, plot_panels, write_json
from .train_loop import Trainer, TrainConfig, fit, synchronize


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common_parser("TensorBoard logs, torch.profiler top-10 operators and a batch-size sweep.",
                           epochs=1, batch_size=64, lr=0.01, out="runs/baseline_torch/profile")
    parser.add_argument("--model", choices=("lenet", "cifar"), default="lenet")
    parser.add_argument("--sweep", default="1,16,64", help="batch sizes for the throughput sweep")
    parser.add_argument("--profile-steps", type=int, default=10)
    return parser.parse_args(argv)


def devices_to_measure(device: torch.device) -> list[torch.device]:
    """The CPU always; the GPU too when the run is on cuda."""
    return [torch.device("cpu")] + ([device] if device.type == "cuda" else [])


def log_tensorboard(args: argparse.Namespace, train: Split, test: Split, device: torch.device,
                    logdir: Path) -> list[dict[str, Any]]:
    """Train briefly and log per-epoch scalars and the model graph for `tensorboard --logdir`."""
    from torch.utils.tensorboard import SummaryWriter
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                      test_batch_size=args.test_batch_size, lr=args.lr, momentum=args.momentum,
                      seed=args.seed)
    torch.manual_seed(args.seed)
    model = build_model(args.model).to(device)
    history = fit(model, train, test, cfg, device, label="[tensorboard] ")
    with SummaryWriter(log_dir=str(logdir)) as writer:
        for record in history:
            for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy",
                        "images_per_second", "lr"):
                writer.add_scalar(key.replace("_", "/", 1), record[key], record["epoch"])
        with warnings.catch_warnings():  # add_graph traces with torch.jit, which warns it is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            writer.add_graph(model.eval(), train.images[:2])
    return history


def training_steps(trainer: Trainer, split: Split, batch_size: int, steps: int):
    """An endless supply of `steps` training steps on real batches."""
    source = batches(split, batch_size)
    for _ in range(steps):
        try:
            images, labels = next(source)
        except StopIteration:
            source = batches(split, batch_size)
            images, labels = next(source)
        trainer.step(images, labels)


def profile_operators(args: argparse.Namespace, split: Split, device: torch.device,
                      out: Path) -> dict[str, Any]:
    """torch.profiler over training steps; the 10 operators with the most self time."""
    split = split.to(device)
    torch.manual_seed(args.seed)
    cfg = TrainConfig(batch_size=args.batch_size, lr=args.lr, momentum=args.momentum, seed=args.seed)
    trainer = Trainer(build_model(args.model).to(device), cfg, device, 1)
    training_steps(trainer, split, args.batch_size, 3)  # warm-up: allocator, oneDNN/cuDNN choices
    synchronize(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        training_steps(trainer, split, args.batch_size, args.profile_steps)
        synchronize(device)
    averages = prof.key_averages()
    # "cuda" is mapped to "device" by torch's table; older torch has only the self_cuda_* names
    table = averages.table(sort_by="self_cuda_time_total" if device.type == "cuda"
                           else "self_cpu_time_total", row_limit=10)
    (out / f"profile_top10_{device.type}.txt").write_text(table + "\n")

    def self_time(event) -> float:
        if device.type != "cuda":
            return event.self_cpu_time_total
        if hasattr(event, "self_device_time_total"):
            return event.self_device_time_total
        return event.self_cuda_time_total

    events = sorted(averages, key=self_time, reverse=True)[:10]
    total = sum(self_time(e) for e in averages) or 1.0
    top = [{"operator": e.key, "calls": e.count, "self_time_us": self_time(e),
            "self_percent": 100 * self_time(e) / total, "cpu_total_us": e.cpu_time_total}
           for e in events]
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return {"device": str(device), "steps": args.profile_steps, "batch_size": args.batch_size,
            "sorted_by": attr, "top10": top, "table": table}


def sweep_batch_sizes(args: argparse.Namespace, split: Split, device: torch.device,
                      sizes: list[int]) -> list[dict[str, Any]]:
    """Steady-state training speed per batch size: median step time over a fixed image budget."""
    split = split.to(device)
    rows = []
    for batch_size in sizes:
        torch.manual_seed(args.seed)
        cfg = TrainConfig(batch_size=batch_size, lr=args.lr, momentum=args.momentum, seed=args.seed)
        trainer = Trainer(build_model(args.model).to(device), cfg, device, 1)
        training_steps(trainer, split, batch_size, 3)
        steps = max(10, min(200, 1024 // batch_size))
        times = []
        for images, labels in itertools.islice(batches(split, batch_size), steps):
            if labels.shape[0] != batch_size:
                break
            synchronize(device)
            start = time.perf_counter()
            trainer.step(images, labels)
            synchronize(device)
            times.append(time.perf_counter() - start)
        step = statistics.median(times)
        rows.append({"device": device.type, "batch_size": batch_size, "steps": len(times),
                     "ms_per_step": 1e3 * step, "images_per_second": batch_size / step})
    return rows


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    device = prepare(args)
    require("tensorboard", "tensorboard", "the profile logs a TensorBoard run")
    out = Path(args.out)
    sizes = [int(s) for s in split_list(args.sweep)]
    train, test = load_dataset(dataset_for(args.model), args.data, args.limit, device, args.torchvision)
    history = log_tensorboard(args, train, test, device, out / "tensorboard")
    profiles, sweep = [], []
    for target in devices_to_measure(device):
        profiles.append(profile_operators(args, train, target, out))
        print(f"\ntop-10 operators by self time, {target}, {args.profile_steps} training steps "
              f"of batch {args.batch_size}:\n{profiles[-1]['table']}")
        sweep += sweep_batch_sizes(args, train, target, sizes)
    write_json(out / "profile.json", {
        "tool": "profile", "framework": f"torch {torch.__version__}", "device": str(device),
        "model": args.model, "limit": args.limit, "hardware": hardware_info(),
        "tensorboard_logdir": str(out / "tensorboard"), "tensorboard_epochs": history,
        "profiles": [{k: v for k, v in p.items() if k != "table"} for p in profiles],
        "batch_size_sweep": sweep})
    series = {d: ([r["batch_size"] for r in sweep if r["device"] == d],
                  [r["images_per_second"] for r in sweep if r["device"] == d])
              for d in dict.fromkeys(r["device"] for r in sweep)}
    plot_panels(out / "batch_size_sweep.png",
                [{"title": f"{args.model} training throughput", "xlabel": "batch size",
                  "ylabel": "images / s", "series": series, "logx": True}])
    print(format_table(sweep, ["device", "batch_size", "steps", "ms_per_step", "images_per_second"]))
    print(f"wrote {out / 'profile.json'}, {out / 'batch_size_sweep.png'}, profile_top10_*.txt; "
          f"TensorBoard: tensorboard --logdir {out / 'tensorboard'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
