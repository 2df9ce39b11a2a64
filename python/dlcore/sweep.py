"""The batch-size and device sweep: ``python -m dlcore.sweep --batch-sizes 1,16,64``.

For each (device, batch size) it trains a fresh model, from the same seed, on the same number of
images (the budget), so the accuracies after the budget compare across batch sizes; it times every
step (the device synchronised after each) and reports the median after a warm-up, the images/s that
median implies, an epoch time extrapolated from it to the full training set, and the test accuracy
(overall and per class) after the budget. It writes OUT/sweep.json, OUT/sweep.md and OUT/sweep.png,
replacing the files of an earlier sweep in OUT (a sweep is one measurement, never appended to).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import dlcore as dl
from dlcore import cuda
from dlcore.cli import UsageFailure, run_script
from dlcore.data import CIFAR10, MNIST, DataLoader, data_root
from dlcore.evidence.evaluation import confusion_matrix
from dlcore.evidence.evaluation import per_class_accuracy as evidence_per_class
from dlcore.models import CifarVGG, LeNet5
from dlcore.report import figures
from dlcore.report.machine import machine_info
from dlcore.training import evaluate, positive_int, set_threads, train_step

SWEEP_JSON, SWEEP_MD, SWEEP_PNG = "sweep.json", "sweep.md", "sweep.png"
MODEL_DATASETS = {"lenet": "MNIST", "cifar": "CIFAR-10"}


def batch_size_list(text: str) -> list[int]:
    """argparse type for --batch-sizes: comma-separated positive integers, e.g. ``1,16,64``."""
    sizes = []
    for part in text.split(","):
        try:
            sizes.append(positive_int(part.strip()))
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"--batch-sizes {text!r}: {e}") from None
    return sizes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m dlcore.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=batch_size_list, default=[1, 16, 64], help="(default 1,16,64)")
    p.add_argument("--devices", default=None,
                   help="comma-separated, from cpu,cuda (default: every available device)")
    p.add_argument("--model", choices=sorted(MODEL_DATASETS), default="lenet",
                   help="lenet (MNIST) or cifar (CifarVGG on CIFAR-10); default lenet")
    p.add_argument("--budget", type=positive_int, default=6400,
                   help="training images per (device, batch size), the same for every batch size (default 6400)")
    p.add_argument("--warmup-steps", type=int, default=5, help="first steps left out of the median (default 5)")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate, constant (default 0.01)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--test-batch-size", type=positive_int, default=1000, help="(default 1000)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="use only N training and N test images (the first N; evenly strided for CIFAR-10)")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all cores)")
    p.add_argument("--seed", type=int, default=1, help="(default 1)")
    p.add_argument("--data", default=None, help="dataset root (default $DLCORE_DATA, else ./data)")
    p.add_argument("--out", default="runs/sweep", help="output directory (default runs/sweep)")
    args = p.parse_args(argv)
    if args.warmup_steps < 0:
        p.error(f"--warmup-steps must be >= 0, got {args.warmup_steps}")
    fewest_steps = args.budget // max(args.batch_sizes)
    if fewest_steps <= args.warmup_steps:
        p.error(f"--budget {args.budget} gives batch size {max(args.batch_sizes)} only {fewest_steps} steps, "
                f"not more than --warmup-steps {args.warmup_steps}: raise the budget")
    return args


def sweep_devices(spec: str | None) -> list[str]:
    """--devices: every named device must be usable here; default: all that are."""
    if spec is None:
        return ["cpu", "cuda"] if cuda.is_available() else ["cpu"]
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in ("cpu", "cuda")]
    if unknown or not names:
        raise UsageFailure(f"--devices {spec!r}: expected a comma-separated list of cpu, cuda")
    if "cuda" in names and not cuda.is_available():
        why = "this build has no CUDA backend" if not cuda.built_with_cuda else "no usable GPU was found"
        raise UsageFailure(f"--devices {spec}: cuda requested but {why}; use --devices cpu")
    return list(dict.fromkeys(names))


def load_datasets(model: str, root: Path, limit: int | None) -> tuple[Any, Any, int]:
    """The training and test sets (CIFAR-10 already cut to --limit) and the full training set's size,
    which the epoch time is extrapolated to."""
    try:
        if model == "lenet":
            train_set = MNIST(root, train=True)
            return train_set, MNIST(root, train=False), len(train_set)
        from dlcore.cli.train_cifar10 import keep_strided_subset  # noqa: PLC0415  (CIFAR needs Pillow)

        train_set = CIFAR10(root, train=True)
        full_size = len(train_set)
        return (keep_strided_subset(train_set, limit), keep_strided_subset(CIFAR10(root, train=False), limit),
                full_size)
    except FileNotFoundError as e:
        raise UsageFailure(str(e)) from None


def synchronize(device: str) -> None:
    if device == "cuda":
        cuda.synchronize()


def per_class_accuracy(predictions: np.ndarray, loader: Any, classes: Sequence[str]) -> dict[str, float]:
    """Test accuracy (%) of each class present in ``loader``, keyed by class name (as baseline_torch records it)."""
    labels = np.concatenate([y.cpu().numpy() for _, y in loader])
    matrix = confusion_matrix(labels, predictions, len(classes))
    present = matrix.sum(axis=1) > 0
    return {name: float(acc) for name, acc, keep in zip(classes, evidence_per_class(matrix), present) if keep}


def measure(args: argparse.Namespace, device: str, batch_size: int, train_set: Any, test_set: Any,
            full_train_images: int) -> dict[str, Any]:
    """Trains one fresh model on ``args.budget`` images in batches of ``batch_size`` and measures it."""
    dl.manual_seed(args.seed)
    model = (LeNet5() if args.model == "lenet" else CifarVGG()).to(device)
    optimizer = dl.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    # drop_last: every step sees a full batch, so the step times and the budget are exact
    train_loader = DataLoader(train_set, batch_size, shuffle=True, seed=args.seed, drop_last=True,
                              device=device, limit=args.limit)
    test_loader = DataLoader(test_set, args.test_batch_size, device=device, limit=args.limit)
    if len(train_loader) == 0:
        raise UsageFailure(f"batch size {batch_size} exceeds the {train_loader.num_samples} training images")
    steps = args.budget // batch_size
    step_seconds: list[float] = []
    loss_sum = None
    model.train()
    start = time.perf_counter()
    while len(step_seconds) < steps:  # as many epochs of the (limited) training set as the budget needs
        for x, y in train_loader:
            synchronize(device)
            t0 = time.perf_counter()
            loss, _ = train_step(model, optimizer, x, y)
            synchronize(device)
            step_seconds.append(time.perf_counter() - t0)
            loss_sum = loss.detach() if loss_sum is None else loss_sum + loss.detach()
            if len(step_seconds) == steps:
                break
    train_loss = loss_sum.item() / steps
    wall = time.perf_counter() - start
    median = statistics.median(step_seconds[args.warmup_steps:])
    evaluation = evaluate(model, test_loader)
    test_loss, test_accuracy = evaluation.loss, evaluation.accuracy
    return {"device": device, "device_name": cuda.get_device_name() if device == "cuda" else "cpu",
            "batch_size": batch_size, "steps": steps, "images": steps * batch_size,
            "timed_steps": steps - args.warmup_steps, "median_step_seconds": median,
            "p10_step_seconds": float(np.percentile(step_seconds[args.warmup_steps:], 10)),
            "p90_step_seconds": float(np.percentile(step_seconds[args.warmup_steps:], 90)),
            "images_per_second": batch_size / median,
            "full_train_images": full_train_images,
            "epoch_seconds_extrapolated": median * math.ceil(full_train_images / batch_size),
            "train_loss": train_loss, "test_loss": test_loss, "test_accuracy": test_accuracy,
            "test_images": test_loader.num_samples, "wall_seconds": wall,
            "per_class_accuracy": per_class_accuracy(evaluation.predictions, test_loader, test_set.classes)}


def _load(averages: Sequence[float]) -> str:
    return "/".join(f"{value:.1f}" for value in averages)


def markdown_table(result: dict[str, Any]) -> str:
    c = result["config"]
    lines = [f"# dlcore batch-size sweep: {c['model']} on {c['dataset']}", "",
             f"Budget {c['budget']} training images per row, SGD lr {c['lr']} momentum {c['momentum']}, seed {c['seed']}, "
             f"threads {c['threads']}; step time = median of the steps after {c['warmup_steps']} warm-up steps, "
             f"device synchronised after each step. Machine: {result['machine']['cpu_model']}, "
             f"{result['machine']['date']}, load average (1, 5, 15 min) {_load(c['load_average_at_start'])} at the start "
             f"and {_load(result['machine']['load_average_1_5_15'])} at the end.", "",
             "| device | batch | steps | median step ms | images/s | epoch s (extrapolated from the median step) "
             "| test acc % after budget | test loss |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['device_name']} | {r['batch_size']} | {r['steps']} | {1e3 * r['median_step_seconds']:.3f} "
                     f"| {r['images_per_second']:,.0f} | {r['epoch_seconds_extrapolated']:.2f} "
                     f"| {r['test_accuracy']:.2f} | {r['test_loss']:.4f} |")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    """Images/s and test accuracy after the budget against batch size, one line per device."""
    lines, accuracy = [], []
    for device in dict.fromkeys(r["device"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["device"] == device]
        lines.append((f"dlcore {rows[0]['device_name']}", [(r["batch_size"], r["images_per_second"]) for r in rows]))
        accuracy.append((f"dlcore {rows[0]['device_name']}, {result['config']['budget']:,} images",
                         [(r["batch_size"], r["test_accuracy"]) for r in rows]))
    path.write_bytes(figures.batch_size_sweep(lines, accuracy, f"{result['config']['budget']:,} images"))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    devices = sweep_devices(args.devices)
    set_threads(args.threads)
    root = data_root(args.data)
    train_set, test_set, full_train_images = load_datasets(args.model, root, args.limit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"dlcore sweep: {args.model}, batch sizes {args.batch_sizes}, devices {devices}, "
          f"budget {args.budget} images; writing {out}/{SWEEP_JSON}, {SWEEP_MD}, {SWEEP_PNG}")
    load_at_start = list(os.getloadavg())  # other jobs on the machine skew step times: record how busy it was
    rows = []
    for device in devices:
        for batch_size in args.batch_sizes:
            row = measure(args, device, batch_size, train_set, test_set, full_train_images)
            rows.append(row)
            print(f"{row['device_name']:>10} batch {batch_size:4d}: {1e3 * row['median_step_seconds']:8.3f} ms/step  "
                  f"{row['images_per_second']:10,.0f} img/s  epoch ~{row['epoch_seconds_extrapolated']:7.2f} s  "
                  f"test acc {row['test_accuracy']:.2f}%")
    config = {"model": args.model, "dataset": MODEL_DATASETS[args.model], "batch_sizes": args.batch_sizes,
              "devices": devices, "budget": args.budget, "warmup_steps": args.warmup_steps, "lr": args.lr,
              "momentum": args.momentum, "optimizer": "sgd", "schedule": "none", "seed": args.seed,
              "limit": args.limit, "threads": dl.get_num_threads(), "load_average_at_start": load_at_start, "test_batch_size": args.test_batch_size,
              "data": str(root), "command": ["python", "-m", "dlcore.sweep", *(sys.argv[1:] if argv is None else argv)]}
    result = {"tool": "sweep", "framework": f"dlcore {dl.__version__}", "config": config,
              "machine": machine_info(), "rows": rows}
    (out / SWEEP_JSON).write_text(json.dumps(result, indent=2) + "\n")
    (out / SWEEP_MD).write_text(markdown_table(result))
    plot(result, out / SWEEP_PNG)
    print(f"dlcore sweep: wrote {out / SWEEP_JSON}, {out / SWEEP_MD}, {out / SWEEP_PNG}")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, prog="python -m dlcore.sweep"))
