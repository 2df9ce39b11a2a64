#!/usr/bin/env python3
"""Train a classifier on an ImageNet-layout tree with dlcore from a checkout: `python python/train_imagenet.py --help`.

A thin wrapper around dlcore.cli.train_imagenet (installed as the console script dlcore-train-imagenet);
_dlcore_path picks an installed dlcore when there is one, else the checkout's python/dlcore.
"""
import sys

import _dlcore_path

_dlcore_path.use_working_dlcore()

from dlcore.cli import run_script  # noqa: E402
from dlcore.cli.train_imagenet import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_script(main))
