"""Train an image classifier on an ImageNet-layout tree with dlcore (the console script
dlcore-train-imagenet; python/train_imagenet.py from a checkout).

Flags are those of torchvision's classification reference (references/classification/train.py),
with its defaults: --model (a dlcore.models.get_model name), --data-path (train/ and val/ image
folders), --epochs, -b/--batch-size, --lr, --momentum, --wd/--weight-decay, --lr-scheduler
{step,cosine} with --lr-step-size/--lr-gamma/--lr-min, --lr-warmup-epochs/--lr-warmup-method/
--lr-warmup-decay, --label-smoothing, -j/--workers, --amp, --resume, --output-dir, --print-freq,
--test-only, --device, --seed and the crop sizes --train-crop-size/--val-resize-size/--val-crop-size.
The schedule steps once per epoch, as there. dlcore's own: --threads, --no-progress, --dry-run,
--[no-]tensorboard and --[no-]plots (off by default: 1000 classes make poor pictures).

Each epoch reports top-1 and top-5 accuracy and, as train_mnist.py does, rewrites
OUTPUT_DIR/checkpoint.safetensors (model, optimizer, scheduler, epoch), appends to metrics.jsonl and
logs to TensorBoard; --resume continues from it, --test-only evaluates it. Every failure a user can
fix (a missing tree, an unreadable image, --amp) is one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import dlcore as dl
from dlcore.cli import UsageFailure, load_resume_state, run_script
from dlcore.cli.imagenet_data import EpochLoader, eval_preset, open_imagenet, open_split, train_preset
from dlcore.cli.run_outputs import nothing_left_message, refuse_non_empty_out, train_with_evidence
from dlcore.data import data_root
from dlcore.models import get_model, list_models
from dlcore.optim import lr_scheduler
from dlcore.training import evaluate, pick_device, positive_float, positive_int, set_threads, write_config

TOP_K = 5


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train a classifier on an ImageNet-layout image tree with dlcore")
    p.add_argument("--data-path", default=None,
                   help="directory holding train/ and val/, one sub-folder per class (default $DLCORE_DATA/imagenet)")
    p.add_argument("--model", default="resnet18", choices=list_models(), help="network (default resnet18)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="(default auto: cuda if usable)")
    p.add_argument("-b", "--batch-size", type=positive_int, default=32, help="images per step (default 32)")
    p.add_argument("--epochs", type=positive_int, default=90, help="number of epochs (default 90)")
    p.add_argument("-j", "--workers", type=non_negative_int, default=min(16, os.cpu_count() or 1),
                   help="data-loading worker processes (default: the cores, at most 16)")
    p.add_argument("--lr", type=positive_float, default=0.1, help="initial learning rate (default 0.1)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--wd", "--weight-decay", type=float, default=1e-4, dest="weight_decay",
                   help="weight decay (default 1e-4)")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing (default 0.0)")
    p.add_argument("--lr-scheduler", choices=["step", "cosine"], default="step", help="(default step)")
    p.add_argument("--lr-warmup-epochs", type=non_negative_int, default=0, help="warm-up epochs (default 0)")
    p.add_argument("--lr-warmup-method", choices=["linear", "constant"], default="constant",
                   help="(default constant)")
    p.add_argument("--lr-warmup-decay", type=float, default=0.01, help="warm-up's starting factor (default 0.01)")
    p.add_argument("--lr-step-size", type=positive_int, default=30, help="step: epochs per decay (default 30)")
    p.add_argument("--lr-gamma", type=float, default=0.1, help="step: decay factor (default 0.1)")
    p.add_argument("--lr-min", type=float, default=0.0, help="cosine: the final learning rate (default 0)")
    p.add_argument("--print-freq", type=positive_int, default=10, dest="log_interval",
                   help="steps between progress-bar loss updates and TensorBoard step logs (default 10)")
    p.add_argument("--output-dir", default="runs/imagenet",
                   help="the run's directory; a fresh run needs it empty or new (default runs/imagenet)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from (OUTPUT_DIR/checkpoint.safetensors)")
    p.add_argument("--test-only", action="store_true", help="only evaluate (the --resume checkpoint) on val/")
    p.add_argument("--amp", action="store_true", help="mixed precision (not available in dlcore yet)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--train-crop-size", type=positive_int, default=224, help="(default 224)")
    p.add_argument("--val-resize-size", type=positive_int, default=256, help="(default 256)")
    p.add_argument("--val-crop-size", type=positive_int, default=224, help="(default 224)")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads for the kernels (default: all)")
    p.add_argument("--no-progress", action="store_true", help="disable the progress bar")
    p.add_argument("--dry-run", action="store_true", help="one training batch, then evaluate, then stop")
    p.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=True,
                   help="TensorBoard event files in --output-dir (default on)")
    p.add_argument("--plots", action=argparse.BooleanOptionalAction, default=False,
                   help="OUTPUT_DIR/plots/*.png after every epoch (default off)")
    p.set_defaults(cuda_graph=False, profile=None, save_model=False)  # what train_with_evidence reads
    args = p.parse_args(argv)
    if args.amp:
        p.exit(2, f"{p.prog}: error: --amp: mixed precision is not available in dlcore yet (it has no autocast); "
                  "run without --amp\n")
    if not 0.0 <= args.label_smoothing < 1.0:
        p.error(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    if args.lr_warmup_epochs and args.lr_scheduler == "cosine" and args.lr_warmup_epochs >= args.epochs:
        p.error(f"--lr-warmup-epochs ({args.lr_warmup_epochs}) must be fewer than --epochs ({args.epochs}) "
                "for the cosine schedule")
    return args


def make_scheduler(args: argparse.Namespace, optimizer: Any) -> Any:
    """torchvision's reference schedule, stepped once per epoch: the main schedule, after a warm-up."""
    if args.lr_scheduler == "step":
        main = lr_scheduler.StepLR(optimizer, step_size=args.lr_step_size, gamma=args.lr_gamma)
    else:
        main = lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs - args.lr_warmup_epochs,
                                              eta_min=args.lr_min)
    if args.lr_warmup_epochs == 0:
        return main
    if args.lr_warmup_method == "linear":
        warmup = lr_scheduler.LinearLR(optimizer, start_factor=args.lr_warmup_decay,
                                       total_iters=args.lr_warmup_epochs)
    else:
        warmup = lr_scheduler.ConstantLR(optimizer, factor=args.lr_warmup_decay, total_iters=args.lr_warmup_epochs)
    return lr_scheduler.SequentialLR(optimizer, [warmup, main], milestones=[args.lr_warmup_epochs])


def restore(args: argparse.Namespace, state: dict[str, Any], model: Any, optimizer: Any, scheduler: Any) -> int:
    """Loads a checkpoint's model, optimizer and scheduler (as torchvision's reference does); the finished epoch."""
    saved = {key: tuple(value.shape) for key, value in state["model"].items()}
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    if saved != expected:
        differing = len(set(saved.items()) ^ set(expected.items()))
        raise UsageFailure(f"cannot resume from {args.resume}: it holds another network's weights, not --model "
                           f"{args.model}'s ({differing} tensor names or shapes differ); pass the --model it was "
                           "trained with")
    try:
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            if "scheduler" not in state:
                raise KeyError("no scheduler state")
            scheduler.load_state_dict(state["scheduler"])
    except (KeyError, ValueError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageFailure(f"cannot resume from {args.resume}: it does not fit this run ({first_line})") from None
    return int(state["epoch"])


def image_failure(error: OSError) -> str | None:
    """The line naming the file an image decode failed on (also from a worker's traceback), or None."""
    lines = [line.strip() for line in str(error).splitlines() if "cannot decode image file" in line]
    return lines[-1] if lines else None


def evaluate_only(args: argparse.Namespace, device: str, data_path: Path, resume_state: dict[str, Any] | None) -> int:
    val = open_split(data_path, "val", eval_preset(args.val_resize_size, args.val_crop_size))
    model = get_model(args.model, num_classes=len(val.classes))
    if resume_state is not None:
        restore(args, resume_state, model, None, None)
    else:
        print("note: --test-only without --resume evaluates an untrained model", file=sys.stderr)
    loader = EpochLoader(val, args.batch_size, shuffle=False, workers=args.workers, seed=args.seed, device=device)
    result = evaluate(model.to(device), loader, label_smoothing=args.label_smoothing, top_k=TOP_K)
    print(f"Test: loss {result.loss:.4f}  Acc@1 {result.accuracy:.3f}  Acc@{TOP_K} {result.top_k_accuracy:.3f}  "
          f"({loader.num_samples} images)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = pick_device(args.device)
    set_threads(args.threads)
    resume_state = load_resume_state(args.resume) if args.resume else None  # fails before any data is read
    data_path = Path(args.data_path) if args.data_path else data_root(None) / "imagenet"
    try:
        if args.test_only:
            return evaluate_only(args, device, data_path, resume_state)
        return train(args, device, data_path, resume_state)
    except OSError as error:
        line = image_failure(error)
        if line is None:
            raise
        raise UsageFailure(line) from None


def train(args: argparse.Namespace, device: str, data_path: Path, resume_state: dict[str, Any] | None) -> int:
    out = Path(args.output_dir)
    refuse_non_empty_out(out, args.resume)
    finished = nothing_left_message(resume_state, args.resume, args.epochs)
    if finished:
        print(finished)
        return 0
    train_set, val_set = open_imagenet(data_path, train_preset(args.train_crop_size),
                                       eval_preset(args.val_resize_size, args.val_crop_size))
    dl.manual_seed(args.seed)
    model = get_model(args.model, num_classes=len(train_set.classes))
    optimizer = dl.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    scheduler = make_scheduler(args, optimizer)
    start_epoch = 1
    if resume_state is not None:
        start_epoch = restore(args, resume_state, model, optimizer, scheduler) + 1
        print(f"resumed from {args.resume} after epoch {start_epoch - 1}")
    model = model.to(device)
    train_loader = EpochLoader(train_set, args.batch_size, shuffle=True, workers=args.workers, seed=args.seed,
                               device=device)
    val_loader = EpochLoader(val_set, args.batch_size, shuffle=False, workers=args.workers, seed=args.seed,
                             device=device)
    out.mkdir(parents=True, exist_ok=True)
    config = {**vars(args), "device": device, "threads": dl.get_num_threads(), "data_path": str(data_path),
              "classes": len(train_set.classes), "parameters": sum(p.numel() for p in model.parameters())}
    write_config(out, config)
    print(f"dlcore {args.model} on {data_path}: device={device} threads={dl.get_num_threads()} workers={args.workers} "
          f"lr={args.lr} schedule={args.lr_scheduler} batch={args.batch_size} classes={len(train_set.classes)} "
          f"train={train_loader.num_samples} val={val_loader.num_samples}")
    train_with_evidence(args, out, title=f"dlcore {args.model} on {data_path.name} ({device})", device=device,
                        model=model, optimizer=optimizer, scheduler=None, train_loader=train_loader,
                        test_set=val_set, test_loader=val_loader, start_epoch=start_epoch,
                        resume_state=resume_state, config=config, model_file=f"{args.model}.safetensors",
                        epoch_scheduler=scheduler, label_smoothing=args.label_smoothing, top_k=TOP_K)
    return 0


def entry() -> None:
    """The console script (dlcore-train-imagenet): main() with one-line errors, exit 2."""
    sys.exit(run_script(main))


if __name__ == "__main__":
    entry()
