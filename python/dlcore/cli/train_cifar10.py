"""Train a CNN on CIFAR-10 with dlcore: the second main job, mirroring baseline_torch/cifar10.py so
the two frameworks can be compared run for run.

--model picks the network: vgg (default, the VGG-style CifarVGG, shaped by --width, --batch-norm/
--no-batch-norm and --dropout), resnet18 (dlcore.models.resnet18 with the CIFAR stem) or vgg16_bn
(dlcore.models.vgg16_bn with the CIFAR head). Flags are train_mnist.py's where they apply, plus
--weight-decay, --augment (random crop with 4-pixel padding + horizontal flip) and --schedule
(per-batch cosine or one-cycle). Metrics, checkpoints, --resume, TensorBoard, plots (with the class
names) and the run directory's rules work as in train_mnist.py (the loop is dlcore.training's); the
checkpoint also holds the scheduler, and a checkpoint of another network is refused.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

import dlcore as dl
from dlcore.data import CIFAR10, DataLoader, data_root
from dlcore.data.augment import AugmentedDataLoader
from dlcore.models import CifarVGG, resnet18, vgg16_bn
from dlcore.cli import UsageFailure, load_resume_state, run_script
from dlcore.cli.run_outputs import nothing_left_message, refuse_non_empty_out, train_with_evidence
from dlcore.training import (load_checkpoint, make_scheduler, pick_device, set_threads,
                             training_parser, write_config)


MODELS = ("vgg", "resnet18", "vgg16_bn")
MODEL_TITLES = {"vgg": "CifarVGG", "resnet18": "ResNet-18 (CIFAR stem)", "vgg16_bn": "VGG-16-BN (CIFAR head)"}
VGG_DEFAULTS = {"width": 32, "batch_norm": True, "dropout": 0.0}  # the flags that shape only --model vgg


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = training_parser("Train a CNN on CIFAR-10 with dlcore", batch_size=128,
                        default_lr="0.02 for sgd, 0.001 for adam", schedule="none", out="runs/cifar10",
                        model_file="cifar10_MODEL.safetensors",
                        data_help="directory holding cifar-10-batches-py or cifar10-jpeg (default $DLCORE_DATA, "
                                  "else ./data)",
                        limit_help="use only N training and N test images, evenly strided so every class is kept")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (default 0)")
    p.add_argument("--model", choices=MODELS, default="vgg",
                   help="vgg: the VGG-style CifarVGG (default); resnet18: ResNet-18 with a 3x3 stride-1 stem and "
                        "no max-pool; vgg16_bn: VGG-16 with batch norm and a single Linear(512, 10) head")
    # None marks "not given", so that giving one with another --model is a usage error.
    p.add_argument("--width", type=int, default=None, help="vgg: channels of the first block (default 32)")
    p.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="vgg: BatchNorm after every convolution (default on)")
    p.add_argument("--dropout", type=float, default=None, help="vgg: dropout before the last layer (default 0)")
    p.add_argument("--augment", action="store_true", help="random crop (4-pixel padding) and horizontal flip")
    args = p.parse_args(argv)
    given = [f"--{name.replace('_', '-')}" for name in VGG_DEFAULTS if getattr(args, name) is not None]
    if args.model != "vgg" and given:
        p.error(f"{', '.join(given)} only shape{'s' if len(given) == 1 else ''} --model vgg, not --model {args.model}")
    if args.model == "vgg":
        for name, default in VGG_DEFAULTS.items():
            if getattr(args, name) is None:
                setattr(args, name, default)
        if not 0.0 <= args.dropout < 1.0:
            p.error(f"--dropout must be in [0, 1), got {args.dropout}")
    return args


def build_model(args: argparse.Namespace) -> Any:
    """The network --model names, for 10 classes."""
    if args.model == "resnet18":
        return resnet18(stem="cifar", num_classes=10)
    if args.model == "vgg16_bn":
        return vgg16_bn(head="cifar", num_classes=10)
    return CifarVGG(width=args.width, batch_norm=args.batch_norm, dropout=args.dropout)


def describe_model(args: argparse.Namespace) -> str:
    """The network as the printout names it."""
    if args.model == "vgg":
        return f"{MODEL_TITLES['vgg']}(width {args.width}, batch_norm={args.batch_norm}, dropout={args.dropout})"
    return MODEL_TITLES[args.model]


def weight_shapes(state: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in state.items()}


def refuse_other_model(resume: str, saved: dict[str, Any], args: argparse.Namespace, model: Any) -> None:
    """--resume of a checkpoint whose weights do not fit this --model: one line naming the --model they fit."""
    shapes = weight_shapes(saved)
    if shapes == weight_shapes(model.state_dict()):
        return
    fits = [name for name in MODELS if name != args.model
            and weight_shapes(build_model(argparse.Namespace(model=name, **VGG_DEFAULTS)).state_dict()) == shapes]
    made_with = f"--model {fits[0]}" if fits else "another network (another --model, or other --width/--batch-norm)"
    raise UsageFailure(f"cannot resume from {resume}: it holds the weights of {made_with}, not of --model "
                       f"{args.model} ({describe_model(args)})")


def keep_strided_subset(dataset: CIFAR10, limit: int | None) -> CIFAR10:
    """--limit: N evenly strided images, as baseline_torch.data.limit_indices picks them. The JPEG
    copy is sorted by class, so its first N would all be airplanes."""
    total = len(dataset)
    if limit is not None and limit < total:
        keep = (np.arange(limit) * total) // limit
        dataset.images, dataset.labels = dataset.images[keep], dataset.labels[keep]
    return dataset


def make_optimizer(args: argparse.Namespace, model: Any, lr: float) -> Any:
    if args.optimizer == "sgd":
        return dl.optim.SGD(model.parameters(), lr=lr, momentum=args.momentum, weight_decay=args.weight_decay)
    return dl.optim.Adam(model.parameters(), lr=lr, weight_decay=args.weight_decay)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = pick_device(args.device, args.cuda_graph)
    set_threads(args.threads)
    resume_state = load_resume_state(args.resume) if args.resume else None  # fails before any data is read
    out = Path(args.out)
    refuse_non_empty_out(out, args.resume)
    finished = nothing_left_message(resume_state, args.resume, args.epochs)
    if finished:
        print(finished)
        return 0
    dl.manual_seed(args.seed)
    model = build_model(args)
    if resume_state is not None:  # checked before any data is read
        refuse_other_model(args.resume, resume_state["model"], args, model)
    model = model.to(device)
    root = data_root(args.data)
    try:
        train_set = CIFAR10(root, train=True, download=args.download)
        test_set = CIFAR10(root, train=False, download=args.download)
    except (FileNotFoundError, RuntimeError) as e:
        raise UsageFailure(str(e)) from None
    keep_strided_subset(train_set, args.limit)
    keep_strided_subset(test_set, args.limit)
    lr = args.lr if args.lr is not None else (0.02 if args.optimizer == "sgd" else 1e-3)
    optimizer = make_optimizer(args, model, lr)

    loader_type = AugmentedDataLoader if args.augment else DataLoader
    train_loader = loader_type(train_set, args.batch_size, shuffle=True, seed=args.seed, device=device)
    test_loader = DataLoader(test_set, args.test_batch_size, device=device)
    scheduler = make_scheduler(args.schedule, optimizer, lr, args.epochs * len(train_loader))

    out.mkdir(parents=True, exist_ok=True)
    start_epoch = 1
    if args.resume:
        try:
            start_epoch = load_checkpoint(args.resume, model, optimizer, scheduler) + 1
        except (ValueError, KeyError, RuntimeError) as e:  # e.g. a one-cycle run resumed with fewer --epochs than it has done
            raise UsageFailure(f"cannot resume from {args.resume}: {e}") from None
        print(f"resumed from {args.resume} after epoch {start_epoch - 1}")
    config = {**vars(args), "device": device, "lr": lr, "threads": dl.get_num_threads(), "data": str(root),
              "parameters": sum(p.numel() for p in model.parameters())}
    write_config(out, config)
    print(f"dlcore {describe_model(args)} on CIFAR-10: "
          f"device={device} threads={dl.get_num_threads()} optimizer={args.optimizer} lr={lr} "
          f"schedule={args.schedule} augment={args.augment} batch={args.batch_size} "
          f"train={train_loader.num_samples} test={test_loader.num_samples}")
    train_with_evidence(args, out, title=f"dlcore {MODEL_TITLES[args.model]} on CIFAR-10 ({device})", device=device,
                        model=model, optimizer=optimizer, scheduler=scheduler, train_loader=train_loader,
                        test_set=test_set, test_loader=test_loader,
                        start_epoch=start_epoch, resume_state=resume_state, config=config,
                        model_file=f"cifar10_{args.model}.safetensors")
    return 0


def entry() -> None:
    """The console script (dlcore-train-cifar10): main() with one-line errors, exit 2."""
    sys.exit(run_script(main))


if __name__ == "__main__":
    entry()
