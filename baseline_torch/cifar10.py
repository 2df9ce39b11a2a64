"""A CIFAR-10 CNN (models.CifarVGG) with regularisation switches, and a mode that trains several
configurations in one run so their train/test curves show over-fitting and what each regulariser
does about it. --model resnet18 / vgg16_bn train vision_models' CIFAR variants instead, the networks
dlcore's train_cifar10.py --model names, so the two frameworks compare run for run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from .cli import common_parser, prepare, run_main, split_list
from .data import load_dataset
from .models import CifarConfig, CifarVGG, count_parameters
from .vision_models import build_vision_model
from .results import format_table, hardware_info, markdown_table, plot_panels, write_json
from .train_loop import SCHEDULES, TrainConfig, curves_panels, fit

MODELS = ("vgg", "resnet18", "vgg16_bn")
MODEL_TITLES = {"resnet18": "ResNet-18 (CIFAR stem)", "vgg16_bn": "VGG-16-BN (CIFAR head)"}

# Named configurations for --compare-regularizers: each changes the command-line settings.
REGULARIZER_CONFIGS: dict[str, dict[str, Any]] = {
    "none": dict(batch_norm=False, dropout=0.0, weight_decay=0.0, augment=False,
                 label_smoothing=0.0, schedule="none"),
    "batchnorm": dict(batch_norm=True, dropout=0.0, weight_decay=0.0, augment=False,
                      label_smoothing=0.0, schedule="none"),
    "dropout+wd": dict(batch_norm=False, dropout=0.5, weight_decay=5e-4, augment=False,
                       label_smoothing=0.0, schedule="none"),
    "augment": dict(batch_norm=False, dropout=0.0, weight_decay=0.0, augment=True,
                    label_smoothing=0.0, schedule="none"),
    "all": dict(batch_norm=True, dropout=0.3, weight_decay=5e-4, augment=True,
                label_smoothing=0.1, schedule="cosine"),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common_parser("Train a VGG-style CNN on CIFAR-10 with PyTorch, with regularisers.",
                           epochs=10, batch_size=128, lr=0.02, out="runs/baseline_torch/cifar10")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--model", choices=MODELS, default="vgg",
                        help="vgg: CifarVGG (default); resnet18 (CIFAR stem) and vgg16_bn (CIFAR head) as dlcore's")
    # None marks "not given": these shape only --model vgg, and giving one with another is an error.
    parser.add_argument("--width", type=int, default=None, help="vgg: channels of the first block (default 32)")
    parser.add_argument("--batch-norm", action="store_true", default=None, help="vgg: BatchNorm after each conv")
    parser.add_argument("--dropout", type=float, default=None, help="vgg: dropout before the last layer (default 0)")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--augment", action="store_true", help="random crop (4px pad) + h-flip")
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--schedule", choices=SCHEDULES, default="none")
    parser.add_argument("--compare-regularizers", action="store_true",
                        help="train every configuration in --configs and plot them together")
    parser.add_argument("--configs", default=",".join(REGULARIZER_CONFIGS),
                        help=f"for --compare-regularizers, from {list(REGULARIZER_CONFIGS)}")
    args = parser.parse_args(argv)
    given = [flag for flag, value in (("--width", args.width), ("--batch-norm", args.batch_norm),
                                      ("--dropout", args.dropout), ("--compare-regularizers", args.compare_regularizers or None))
             if value is not None]
    if args.model != "vgg" and given:
        verb = "applies" if len(given) == 1 else "apply"
        parser.error(f"{', '.join(given)} only {verb} to --model vgg, not --model {args.model}")
    args.width = 32 if args.width is None else args.width
    args.batch_norm = bool(args.batch_norm)
    args.dropout = 0.0 if args.dropout is None else args.dropout
    return args


def build_network(args: argparse.Namespace, settings: dict[str, Any]) -> torch.nn.Module:
    """--model's network for 10 classes (CifarVGG shaped by the configuration's switches)."""
    if args.model == "vgg":
        return CifarVGG(CifarConfig(batch_norm=settings["batch_norm"], dropout=settings["dropout"], width=args.width))
    return build_vision_model(args.model, 10, "cifar")


def describe_network(args: argparse.Namespace) -> str:
    return f"CifarVGG(width {args.width})" if args.model == "vgg" else MODEL_TITLES[args.model]


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The regulariser switches given on the command line."""
    return dict(batch_norm=args.batch_norm, dropout=args.dropout, weight_decay=args.weight_decay,
                augment=args.augment, label_smoothing=args.label_smoothing, schedule=args.schedule)


def train_configuration(name: str, settings: dict[str, Any], args: argparse.Namespace, train,
                        test, device: torch.device, out: Path) -> dict[str, Any]:
    """Train one configuration from the same seed; returns its settings and history."""
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                      test_batch_size=args.test_batch_size, lr=args.lr, momentum=args.momentum,
                      optimizer=args.optimizer, seed=args.seed,
                      weight_decay=settings["weight_decay"], augment=settings["augment"],
                      label_smoothing=settings["label_smoothing"], schedule=settings["schedule"])
    torch.manual_seed(args.seed)
    model = build_network(args, settings)
    metrics_path = out / f"metrics_{name}.jsonl"
    metrics_path.unlink(missing_ok=True)
    history = fit(model, train, test, cfg, device, metrics_path=metrics_path, label=f"[{name}] ")
    final = history[-1]
    return {"name": name, "settings": settings, "config": cfg.as_dict(),
            "parameters": count_parameters(model), "epochs": history,
            "summary": {"name": name, "final_train_accuracy": final["train_accuracy"],
                        "final_test_accuracy": final["test_accuracy"],
                        "best_test_accuracy": max(r["test_accuracy"] for r in history),
                        "generalisation_gap": final["train_accuracy"] - final["test_accuracy"],
                        "seconds_per_epoch": sum(r["seconds"] for r in history) / len(history)}}


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    device = prepare(args)
    out = Path(args.out)
    if args.compare_regularizers:
        names = split_list(args.configs)
        unknown = [n for n in names if n not in REGULARIZER_CONFIGS]
        if unknown or len(names) < 2:
            print(f"error: --configs needs at least two of {list(REGULARIZER_CONFIGS)}, got {names}",
                  file=sys.stderr)
            return 2
        configurations = {n: REGULARIZER_CONFIGS[n] for n in names}
    else:
        configurations = {"cli": settings_from_args(args)}
    train, test = load_dataset("cifar10", args.data, args.limit, device, args.torchvision)
    runs = [train_configuration(name, settings, args, train, test, device, out)
            for name, settings in configurations.items()]
    summary = [run["summary"] for run in runs]
    columns = ["name", "final_train_accuracy", "final_test_accuracy", "best_test_accuracy",
               "generalisation_gap", "seconds_per_epoch"]
    write_json(out / "cifar10.json", {
        "tool": "cifar10", "framework": f"torch {torch.__version__}", "device": str(device),
        "model": f"{describe_network(args)} (see baseline_torch/{'models' if args.model == 'vgg' else 'vision_models'}.py)",
        "model_flag": args.model,
        "width": args.width if args.model == "vgg" else None,
        "limit": args.limit, "train_samples": len(train), "test_samples": len(test),
        "data_source": train.source, "hardware": hardware_info(), "runs": runs})
    plot_panels(out / "cifar10.png", curves_panels({r["name"]: r["epochs"] for r in runs}),
                title=f"CIFAR-10 {describe_network(args)}, {len(train)} train images, {device}")
    (out / "cifar10.md").write_text(markdown_table(summary, columns) + "\n")
    print(format_table(summary, columns))
    print(f"wrote {out / 'cifar10.json'}, {out / 'cifar10.png'}, {out / 'cifar10.md'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
