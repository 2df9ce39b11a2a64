"""The headline comparison: dlcore's python/train_mnist.py and baseline_torch.lenet_mnist run one
after the other on the same model, hyper-parameters, data order, thread count and device, each in
a fresh process; their metrics.jsonl files are lined up per epoch as Markdown, JSON and PNG.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .cli import common_parser, prepare, run_main
from .results import (format_table, hardware_info, markdown_table, plot_panels, read_jsonl,
                      write_json)
from .train_loop import default_lr

REPO = Path(__file__).resolve().parent.parent
METRIC_KEYS = ("epoch", "train_loss", "test_loss", "test_accuracy", "seconds",
               "images_per_second", "peak_memory_bytes")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common_parser("Run dlcore and PyTorch LeNet-5/MNIST with identical settings and "
                           "compare time per epoch, images/s, accuracy and peak memory.",
                           epochs=10, batch_size=64, lr=0.01, out="runs/baseline_torch/compare")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--schedule", choices=("none", "cosine", "onecycle"), default="cosine")
    parser.set_defaults(lr=None)  # as train_mnist.py: 0.01 for sgd, 0.001 for adam
    parser.add_argument("--dlcore-script", default=str(REPO / "python" / "train_mnist.py"))
    parser.add_argument("--skip-dlcore", action="store_true", help="run the PyTorch side only")
    return parser.parse_args(argv)


def shared_flags(args: argparse.Namespace, device: str, threads: int) -> list[str]:
    """The flags both train_mnist.py and baseline_torch.lenet_mnist accept, with the same values."""
    flags = ["--device", device, "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
             "--test-batch-size", str(args.test_batch_size),
             "--lr", str(default_lr(args.optimizer, args.lr)),
             "--momentum", str(args.momentum), "--optimizer", args.optimizer, "--schedule", args.schedule,
             "--seed", str(args.seed), "--data", str(args.data), "--threads", str(threads)]
    if args.limit is not None:
        flags += ["--limit", str(args.limit)]
    return flags


def run_side(name: str, command: list[str], out: Path) -> dict[str, Any]:
    """Run one framework in a fresh process; return its per-epoch metrics or why there are none."""
    metrics = out / "metrics.jsonl"
    metrics.unlink(missing_ok=True)  # train_mnist.py appends; stale epochs must not leak in
    print(f"[{name}] {' '.join(command)}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    print("\n".join(f"[{name}] {line}" for line in proc.stdout.splitlines() if line.strip()), flush=True)
    side: dict[str, Any] = {"framework": name, "command": command, "exit_code": proc.returncode,
                            "wall_seconds": wall}
    if proc.returncode != 0 or not metrics.exists():
        side.update(status="failed", error=proc.stdout[-3000:])
        return side
    side.update(status="ok", epochs=[{k: r.get(k) for k in METRIC_KEYS} for r in read_jsonl(metrics)])
    return side


def summary_row(side: dict[str, Any]) -> dict[str, Any]:
    epochs = side.get("epochs") or []
    if not epochs:
        return {"framework": side["framework"], "status": side["status"]}
    return {"framework": side["framework"], "status": side["status"],
            "median_seconds_per_epoch": statistics.median(r["seconds"] for r in epochs),
            # the fastest epoch is the one least disturbed by other work on a shared machine
            "best_seconds_per_epoch": min(r["seconds"] for r in epochs),
            "median_images_per_second": statistics.median(r["images_per_second"] for r in epochs),
            "final_test_accuracy": epochs[-1]["test_accuracy"],
            "peak_memory_MiB": max(r["peak_memory_bytes"] for r in epochs) / 2**20}


def per_epoch_rows(sides: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per epoch with both frameworks' numbers side by side."""
    by_epoch: dict[int, dict[str, Any]] = {}
    for name, side in sides.items():
        for record in side.get("epochs") or []:
            row = by_epoch.setdefault(record["epoch"], {"epoch": record["epoch"]})
            row[f"{name}_seconds"] = record["seconds"]
            row[f"{name}_images_per_second"] = record["images_per_second"]
            row[f"{name}_test_accuracy"] = record["test_accuracy"]
    for row in by_epoch.values():
        if "dlcore_seconds" in row and "torch_seconds" in row:
            row["time_ratio_dlcore_over_torch"] = row["dlcore_seconds"] / row["torch_seconds"]
    return [by_epoch[e] for e in sorted(by_epoch)]


def plot(out: Path, sides: dict[str, dict[str, Any]], title: str) -> None:
    panels = []
    for key, label in (("seconds", "seconds / epoch"), ("images_per_second", "images / s"),
                       ("test_accuracy", "test accuracy (%)"), ("peak_memory_bytes", "peak memory (MiB)")):
        scale = 2**-20 if key == "peak_memory_bytes" else 1.0
        series = {name: ([r["epoch"] for r in side["epochs"]], [r[key] * scale for r in side["epochs"]])
                  for name, side in sides.items() if side.get("epochs")}
        panels.append({"title": label, "ylabel": label, "series": series})
    plot_panels(out / "compare.png", panels, title=title)


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    device = prepare(args)
    out = Path(args.out).resolve()
    args.data = str(Path(args.data).resolve())
    threads = args.threads or os.cpu_count() or 1
    flags = shared_flags(args, device.type, threads)
    sides: dict[str, dict[str, Any]] = {}
    if not args.skip_dlcore:
        script = Path(args.dlcore_script)
        if script.exists():
            sides["dlcore"] = run_side("dlcore", [sys.executable, str(script), *flags, "--no-progress",
                                                  "--out", str(out / "dlcore")], out / "dlcore")
            # train_mnist.py checkpoints every epoch; the comparison needs only its metrics
            (out / "dlcore" / "checkpoint.safetensors").unlink(missing_ok=True)
        else:
            sides["dlcore"] = {"framework": "dlcore", "status": "failed",
                               "error": f"{script} not found (--dlcore-script)"}
    sides["torch"] = run_side("torch", [sys.executable, "-m", "baseline_torch.lenet_mnist", *flags,
                                        "--out", str(out / "torch")], out / "torch")
    rows = [summary_row(side) for side in sides.values()]
    epochs = per_epoch_rows(sides)
    ratio = best_ratio = None
    if all(s.get("epochs") for s in sides.values()) and len(sides) == 2:
        ratio = rows[0]["median_seconds_per_epoch"] / rows[1]["median_seconds_per_epoch"]
        best_ratio = rows[0]["best_seconds_per_epoch"] / rows[1]["best_seconds_per_epoch"]
    hardware = hardware_info()
    columns = ["framework", "status", "median_seconds_per_epoch", "best_seconds_per_epoch",
               "median_images_per_second",
               "final_test_accuracy", "peak_memory_MiB"]
    epoch_columns = list(epochs[0].keys()) if epochs else ["epoch"]
    title = (f"LeNet-5 / MNIST, {device}, {threads} threads, batch {args.batch_size}, "
             f"{args.epochs} epochs{'' if args.limit is None else f', limit {args.limit}'}")
    write_json(out / "compare.json", {
        "tool": "compare", "device": str(device), "threads": threads, "flags": flags,
        "time_ratio_dlcore_over_torch": ratio, "best_epoch_time_ratio_dlcore_over_torch": best_ratio,
        "summary": rows, "per_epoch": epochs,
        "hardware": hardware, "sides": sides,
        "notes": ["each side runs in a fresh process, dlcore first, then torch",
                  "same data bytes and batch order (dlcore.data readers and epoch_order); "
                  "initial weights come from each framework's own RNG (same distribution)",
                  "seconds: training pass only; peak memory: CUDA allocator peak or process peak RSS"]})
    markdown = [f"# dlcore vs PyTorch: {title}", "",
                f"Hardware: {hardware['cpu_model']}, torch {hardware['torch_version']}, "
                f"GPUs {[g['name'] for g in hardware['gpus']] or 'none'}; {hardware['date']}.", "",
                markdown_table(rows, columns), ""]
    if ratio is not None:
        markdown += [f"Time ratio dlcore / torch: **{ratio:.3f}** (median epochs), "
                     f"**{best_ratio:.3f}** (fastest epochs). Load average at the end "
                     f"{hardware['load_average_1_5_15']}: on a busy machine trust the fastest epochs.", ""]
    markdown += ["Per epoch:", "", markdown_table(epochs, epoch_columns), ""]
    (out / "compare.md").write_text("\n".join(markdown))
    plot(out, sides, title)
    print(format_table(rows, columns))
    if ratio is not None:
        print(f"time ratio dlcore / torch: {ratio:.3f} (median epochs), {best_ratio:.3f} (fastest epochs)")
    for name, side in sides.items():
        if side["status"] != "ok":
            print(f"[{name}] failed: {side.get('error', '')[-1500:]}", file=sys.stderr)
    print(f"wrote {out / 'compare.md'}, {out / 'compare.json'}, {out / 'compare.png'}")
    return 0 if all(side["status"] == "ok" for side in sides.values()) else 1


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
