"""LeNet-5 on MNIST in PyTorch with the same architecture, initialisation, data order and defaults
as dlcore's python/train_mnist.py: the reference every dlcore LeNet number is read against.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from .cli import common_parser, prepare, run_main
from .data import load_dataset
from .models import LeNet5, count_parameters
from .results import format_table, hardware_info, plot_panels, write_json
from .train_loop import TrainConfig, curves_panels, default_lr, fit


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common_parser("Train LeNet-5 on MNIST with PyTorch (dlcore's reference).",
                           epochs=10, batch_size=64, lr=0.01, out="runs/baseline_torch/lenet_mnist")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--schedule", choices=("none", "cosine", "onecycle"), default="cosine",
                        help="per-batch LR schedule over the run (default cosine, as train_mnist.py)")
    parser.set_defaults(lr=None)  # as train_mnist.py: 0.01 for sgd, 0.001 for adam
    return parser.parse_args(argv)


def train_lenet(args: argparse.Namespace, device: torch.device, out: Path) -> dict[str, Any]:
    """Train and evaluate LeNet-5; returns the result document (also used by `compare`)."""
    train, test = load_dataset("mnist", args.data, args.limit, device, args.torchvision)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                      test_batch_size=args.test_batch_size,
                      lr=default_lr(args.optimizer, args.lr), momentum=args.momentum,
                      optimizer=args.optimizer, schedule=args.schedule, seed=args.seed)
    torch.manual_seed(args.seed)  # the model's initial weights come from this seed
    model = LeNet5()
    metrics_path = out / "metrics.jsonl"
    metrics_path.unlink(missing_ok=True)
    history = fit(model, train, test, cfg, device, metrics_path=metrics_path)
    return {"tool": "lenet_mnist", "framework": f"torch {torch.__version__}",
            "device": str(device), "config": cfg.as_dict(), "limit": args.limit,
            "train_samples": len(train), "test_samples": len(test), "data_source": train.source,
            "normalisation": {"mean": train.mean, "std": train.std},
            "parameters": count_parameters(model), "hardware": hardware_info(), "epochs": history}


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    device = prepare(args)
    out = Path(args.out)
    result = train_lenet(args, device, out)
    write_json(out / "lenet_mnist.json", result)
    plot_panels(out / "lenet_mnist.png", curves_panels({"LeNet-5": result["epochs"]}),
                title=f"LeNet-5 / MNIST, torch on {device}")
    columns = ["epoch", "train_loss", "test_loss", "test_accuracy", "seconds", "images_per_second"]
    print(format_table(result["epochs"], columns))
    last = result["epochs"][-1]["per_class_accuracy"]
    print("per-class test accuracy: " + ", ".join(f"{k}: {v:.2f}%" for k, v in last.items()))
    print(f"wrote {out / 'lenet_mnist.json'}, {out / 'lenet_mnist.png'}, {out / 'metrics.jsonl'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
