"""Flags, device choice and seeding shared by every baseline tool, so that `--device`, `--limit`,
`--seed` and friends mean the same thing everywhere and match dlcore's train_mnist.py.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch


class DataUnavailable(RuntimeError):
    """A dataset (or dlcore's reader for it) could not be loaded; tools exit 2 without a traceback."""


class MissingDependency(DataUnavailable):
    """An optional package a tool needs is not installed; the message names the extra that has it."""


def require(module: str, package: str, why: str) -> None:
    """Fails before any training when ``module`` cannot be imported (found, not imported: cheap)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken install, or a module blocked in sys.modules
        found = False
    if not found:
        raise MissingDependency(f"{package} is not installed ({why}): pip install 'dlcore[baseline]'")


def default_data_dir() -> str:
    """`$DLCORE_DATA`, else ./data — the same rule as dlcore."""
    return os.environ.get("DLCORE_DATA", "./data")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def common_parser(description: str, *, epochs: int, batch_size: int, lr: float,
                  out: str) -> argparse.ArgumentParser:
    """A parser holding the flags every tool accepts; tools add their own on top."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto picks cuda when torch sees a GPU")
    parser.add_argument("--epochs", type=positive_int, default=epochs)
    parser.add_argument("--batch-size", type=positive_int, default=batch_size)
    parser.add_argument("--test-batch-size", type=positive_int, default=1000)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=out, help="directory for JSON and PNG results")
    parser.add_argument("--data", default=default_data_dir(),
                        help="directory holding MNIST/raw and cifar10-jpeg ($DLCORE_DATA, else ./data)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="use only N training samples (and at most N test samples)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch.set_num_threads (default: torch's own choice)")
    parser.add_argument("--torchvision", action="store_true",
                        help="read data with torchvision.datasets when it is importable")
    return parser


def split_list(text: str) -> list[str]:
    """A comma-separated flag value as a list of non-empty, stripped names."""
    return [item.strip() for item in text.split(",") if item.strip()]


def resolve_device(requested: str) -> torch.device:
    """Turn --device into a torch.device; asking for cuda without a GPU is a clear error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise DataUnavailable("--device cuda was asked for but torch sees no GPU "
                              f"(torch {torch.__version__}, cuda {torch.version.cuda})")
    return torch.device(requested)


def seed_everything(seed: int) -> None:
    """Seed every generator a tool touches so a run repeats from --seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False


def prepare(args: argparse.Namespace) -> torch.device:
    """Apply --threads and --seed, make --out, and return the device."""
    require("matplotlib", "matplotlib", "every tool draws its figures with it")
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    return resolve_device(args.device)


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a tool's main; a missing dataset, device or optional package prints one line and returns 2."""
    try:
        return main(argv)
    except DataUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
