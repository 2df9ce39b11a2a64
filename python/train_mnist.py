#!/usr/bin/env python3
"""Train LeNet-5 on MNIST with dlcore: the project's main job.

Flags follow pytorch/examples' MNIST script (--batch-size --test-batch-size --epochs --lr --seed
--log-interval --dry-run --save-model) plus --device, --data, --optimizer, --threads, --resume,
--out and --limit. Each epoch prints a summary line and appends a JSON line to OUT/metrics.jsonl;
OUT/checkpoint.safetensors (model, optimizer, epoch) is rewritten atomically after every epoch and
--resume continues from it.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a source checkout without `pip install`

import dlcore as dl  # noqa: E402
from dlcore.data import MNIST, DataLoader, data_root  # noqa: E402
from dlcore.models import LeNet5  # noqa: E402
from dlcore.nn import functional as F  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train LeNet-5 on MNIST with dlcore")
    p.add_argument("--batch-size", type=int, default=64, help="training batch size (default 64)")
    p.add_argument("--test-batch-size", type=int, default=1000, help="evaluation batch size (default 1000)")
    p.add_argument("--epochs", type=int, default=10, help="number of epochs (default 10)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 0.01 for sgd, 0.001 for adam)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--log-interval", type=int, default=10, help="batches between progress-bar loss updates")
    p.add_argument("--dry-run", action="store_true", help="run a single batch of training and evaluation")
    p.add_argument("--save-model", action="store_true", help="write OUT/mnist_lenet5.safetensors at the end")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--data", default=None, help="directory holding MNIST/raw (default $DLCORE_DATA, else ./data)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the kernels (default: all cores)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from (e.g. OUT/checkpoint.safetensors)")
    p.add_argument("--out", default="runs/mnist", help="output directory for metrics and checkpoints")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training and test images")
    p.add_argument("--no-progress", action="store_true", help="disable the progress bar")
    return p.parse_args(argv)


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if dl.cuda.is_available() else "cpu"
    if name == "cuda" and not dl.cuda.is_available():
        why = "this build has no CUDA backend" if not dl.cuda.built_with_cuda else "no usable GPU was found"
        raise SystemExit(f"error: --device cuda requested but {why}; use --device cpu")
    return name


def peak_memory_bytes(device: str) -> int:
    if device == "cuda":
        return dl.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def evaluate(model: dl.nn.Module, loader: DataLoader) -> tuple[float, float]:
    """Mean test loss and accuracy (%); sums stay on the device until the end."""
    model.eval()
    loss_sum, correct = None, None
    with dl.no_grad():
        for x, y in loader:
            logits = model(x)
            batch_loss = F.cross_entropy(logits, y, reduction="sum")
            batch_correct = logits.argmax(1).eq(y).sum()
            loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
            correct = batch_correct if correct is None else correct + batch_correct
    n = loader.num_samples
    return loss_sum.item() / n, 100.0 * correct.item() / n


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = pick_device(args.device)
    if args.threads:
        dl.set_num_threads(args.threads)
    root = data_root(args.data)
    try:
        train_set, test_set = MNIST(root, train=True), MNIST(root, train=False)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    lr = args.lr if args.lr is not None else (0.01 if args.optimizer == "sgd" else 1e-3)
    dl.manual_seed(args.seed)
    model = LeNet5().to(device)
    if args.optimizer == "sgd":
        optimizer = dl.optim.SGD(model.parameters(), lr=lr, momentum=args.momentum)
    else:
        optimizer = dl.optim.Adam(model.parameters(), lr=lr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / "checkpoint.safetensors"
    start_epoch = 1
    if args.resume:
        state = dl.load(args.resume)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = int(state["epoch"]) + 1
        print(f"resumed from {args.resume} after epoch {start_epoch - 1}")

    train_loader = DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed, device=device, limit=args.limit)
    test_loader = DataLoader(test_set, args.test_batch_size, device=device, limit=args.limit)
    config = {k: v for k, v in vars(args).items()}
    config.update(device=device, lr=lr, threads=dl.get_num_threads(), data=str(root))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"dlcore LeNet-5 on MNIST: device={device} threads={dl.get_num_threads()} optimizer={args.optimizer} "
          f"lr={lr} batch={args.batch_size} train={train_loader.num_samples} test={test_loader.num_samples}")
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety, not a requirement
        tqdm = None
    metrics_file = out / "metrics.jsonl"
    for epoch in range(start_epoch, args.epochs + 1):
        model.train()
        train_loader.set_epoch(epoch - 1)
        bar = None if (tqdm is None or args.no_progress) else tqdm(total=len(train_loader), desc=f"epoch {epoch}",
                                                                   unit="batch", leave=False, dynamic_ncols=True)
        loss_sum = None
        steps = 0
        start = time.perf_counter()
        for step, (x, y) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            loss_sum = loss.detach() if loss_sum is None else loss_sum + loss.detach()
            steps += 1
            if bar is not None:
                bar.update(1)
                if step % args.log_interval == 0:
                    bar.set_postfix(loss=f"{loss.item():.4f}")
            if args.dry_run:
                break
        train_loss = loss_sum.item() / steps  # waits for the device: the epoch's time is real
        train_seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
        test_loss, accuracy = evaluate(model, test_loader)
        seen = steps * args.batch_size if args.dry_run else train_loader.num_samples
        record = {"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss, "test_accuracy": accuracy,
                  "seconds": train_seconds, "images_per_second": seen / train_seconds,
                  "peak_memory_bytes": peak_memory_bytes(device), "device": device, "framework": "dlcore"}
        with metrics_file.open("a") as f:
            f.write(json.dumps(record) + "\n")
        dl.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, checkpoint_path)
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f}  test loss {test_loss:.4f}  "
              f"test accuracy {accuracy:.2f}%  {train_seconds:.1f}s  {seen / train_seconds:,.0f} img/s")
        if args.dry_run:
            break
    if args.save_model:
        dl.save(model.state_dict(), out / "mnist_lenet5.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
