"""Train LeNet-5 on MNIST with dlcore: the project's main job.

Flags follow pytorch/examples' MNIST script (--batch-size --test-batch-size --epochs --lr --seed
--log-interval --dry-run --save-model) plus --device, --data, --optimizer, --threads, --resume,
--out, --limit, --cuda-graph, --[no-]tensorboard and --[no-]plots. Each epoch prints a summary line,
rewrites OUT/checkpoint.safetensors (model, optimizer, epoch) atomically and then appends a JSON
line to OUT/metrics.jsonl; --resume continues from the checkpoint. TensorBoard events, plots and
utilisation samples go into OUT as well (dlcore.cli.run_outputs has the directory's rules). The loop
itself lives in dlcore.training, shared with train_cifar10.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dlcore as dl
from dlcore.data import MNIST, DataLoader, data_root
from dlcore.models import LeNet5
from dlcore.cli import UsageFailure, load_resume_state, run_script
from dlcore.cli.run_outputs import nothing_left_message, refuse_non_empty_out, train_with_evidence
from dlcore.training import (load_checkpoint, make_scheduler, pick_device, set_threads,
                             training_parser, write_config)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = training_parser("Train LeNet-5 on MNIST with dlcore", batch_size=64, default_lr="0.01 for sgd, 0.001 for adam",
                        schedule="cosine", out="runs/mnist", model_file="mnist_lenet5.safetensors",
                        data_help="directory holding MNIST/raw (default $DLCORE_DATA, else ./data)",
                        limit_help="use only the first N training and test images")
    return p.parse_args(argv)


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
    root = data_root(args.data)
    try:
        train_set = MNIST(root, train=True, download=args.download)
        test_set = MNIST(root, train=False, download=args.download)
    except (FileNotFoundError, RuntimeError) as e:
        raise UsageFailure(str(e)) from None
    lr = args.lr if args.lr is not None else (0.01 if args.optimizer == "sgd" else 1e-3)
    dl.manual_seed(args.seed)
    model = LeNet5().to(device)
    if args.optimizer == "sgd":
        optimizer = dl.optim.SGD(model.parameters(), lr=lr, momentum=args.momentum)
    else:
        optimizer = dl.optim.Adam(model.parameters(), lr=lr)
    train_loader = DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed, device=device, limit=args.limit)
    test_loader = DataLoader(test_set, args.test_batch_size, device=device, limit=args.limit)
    scheduler = make_scheduler(args.schedule, optimizer, lr, args.epochs * len(train_loader))
    out.mkdir(parents=True, exist_ok=True)
    start_epoch = 1
    if args.resume:
        try:
            start_epoch = load_checkpoint(args.resume, model, optimizer, scheduler) + 1
        except (ValueError, KeyError, RuntimeError) as e:
            raise UsageFailure(f"cannot resume from {args.resume}: {e}") from None
        print(f"resumed from {args.resume} after epoch {start_epoch - 1}")
    config = {**vars(args), "device": device, "lr": lr, "threads": dl.get_num_threads(), "data": str(root)}
    write_config(out, config)
    print(f"dlcore LeNet-5 on MNIST: device={device} threads={dl.get_num_threads()} optimizer={args.optimizer} "
          f"lr={lr} schedule={args.schedule} batch={args.batch_size} train={train_loader.num_samples} test={test_loader.num_samples}")
    train_with_evidence(args, out, title=f"dlcore LeNet-5 on MNIST ({device})", device=device, model=model, optimizer=optimizer,
                        scheduler=scheduler, train_loader=train_loader, test_set=test_set, test_loader=test_loader,
                        start_epoch=start_epoch, resume_state=resume_state, config=config,
                        model_file="mnist_lenet5.safetensors")
    return 0


def entry() -> None:
    """The console script (dlcore-train-mnist): main() with one-line errors, exit 2."""
    sys.exit(run_script(main))


if __name__ == "__main__":
    entry()
