"""Mixed precision: LeNet/MNIST and the CIFAR-10 CNN in fp32, fp16 (autocast + GradScaler) and
bf16 (autocast), with time per epoch, peak memory and accuracy side by side.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from .cli import common_parser, prepare, run_main, split_list
from .data import load_dataset
from .models import build_model, dataset_for
from .results import format_table, hardware_info, markdown_table, plot_bars, write_json
from .train_loop import PRECISIONS, TrainConfig, fit


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common_parser("fp32 vs fp16 (autocast + GradScaler) vs bf16 (autocast) training.",
                           epochs=2, batch_size=128, lr=0.01, out="runs/baseline_torch/amp")
    parser.add_argument("--models", default="lenet,cifar", help="comma list of lenet, cifar")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help=f"comma list of {PRECISIONS}")
    parser.add_argument("--cpu-fp16", action="store_true",
                        help="also run fp16 on the CPU (tens to thousands of times slower than fp32 there)")
    return parser.parse_args(argv)


def precision_support(precision: str, device: torch.device, cpu_fp16: bool) -> str:
    """Why a precision should not run on this device, or "" when it can."""
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return "this GPU has no bf16 support"
    if precision == "fp16" and device.type == "cpu" and not cpu_fp16:
        # torch 2.13's CPU fp16 convolution backward is a slow path: on the development Xeon the
        # CIFAR CNN trained at 4 img/s in fp16 vs 916 in fp32, LeNet at 671 vs 18833
        return "fp16 training on the CPU is very slow (fp16 conv backward); pass --cpu-fp16 to run it"
    return ""


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    device = prepare(args)
    out = Path(args.out)
    models = split_list(args.models)
    precisions = split_list(args.precisions)
    bad = [p for p in precisions if p not in PRECISIONS] + [m for m in models if m not in ("lenet", "cifar")]
    if bad:
        print(f"error: unknown models/precisions {bad}", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    runs: dict[str, Any] = {}
    for model_name in models:
        train, test = load_dataset(dataset_for(model_name), args.data, args.limit, device,
                                   args.torchvision)
        for precision in precisions:
            why_not = precision_support(precision, device, args.cpu_fp16)
            if why_not:
                print(f"[{model_name}/{precision}] skipped: {why_not}")
                rows.append({"model": model_name, "precision": precision, "status": "skipped",
                             "note": why_not})
                continue
            cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                              test_batch_size=args.test_batch_size, lr=args.lr,
                              momentum=args.momentum, seed=args.seed, precision=precision)
            torch.manual_seed(args.seed)
            history = fit(build_model(model_name), train, test, cfg, device,
                          label=f"[{model_name}/{precision}] ")
            runs[f"{model_name}/{precision}"] = history
            fastest = min(history, key=lambda r: r["seconds"])  # least disturbed by warm-up
            rows.append({"model": model_name, "precision": precision, "status": "ok",
                         "seconds_per_epoch": fastest["seconds"],
                         "images_per_second": fastest["images_per_second"],
                         "peak_memory_MiB": max(r["peak_memory_bytes"] for r in history) / 2**20,
                         "final_test_accuracy": history[-1]["test_accuracy"]})
    columns = ["model", "precision", "status", "seconds_per_epoch", "images_per_second",
               "peak_memory_MiB", "final_test_accuracy"]
    write_json(out / "amp.json", {"tool": "amp", "framework": f"torch {torch.__version__}",
                                  "device": str(device), "limit": args.limit,
                                  "memory_note": "CUDA: allocator peak; CPU: process peak RSS",
                                  "hardware": hardware_info(), "summary": rows, "runs": runs})
    (out / "amp.md").write_text(markdown_table(rows, columns) + "\n")
    done = [r for r in rows if r["status"] == "ok"]
    plot_bars(out / "amp.png", [f"{r['model']}/{r['precision']}" for r in done],
              {"seconds / epoch": [r["seconds_per_epoch"] for r in done],
               "peak memory (MiB)": [r["peak_memory_MiB"] for r in done],
               "test accuracy (%)": [r["final_test_accuracy"] for r in done]},
              title=f"mixed precision on {device}")
    print(format_table(rows, columns))
    print(f"wrote {out / 'amp.json'}, {out / 'amp.md'}, {out / 'amp.png'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
