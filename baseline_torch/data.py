"""Datasets as torch tensors, read, normalised and ordered by dlcore's own numpy code (dlcore.data)
so both frameworks see bit-identical inputs in the same order.
torchvision is used only when asked for (--torchvision) and importable.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .cli import DataUnavailable

_REPO_PYTHON = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")


def dlcore_data():
    """dlcore.data, from an installed dlcore or else from this checkout's python/ directory."""
    try:
        import dlcore.data as module
    except ImportError:
        if _REPO_PYTHON not in sys.path:
            sys.path.insert(0, _REPO_PYTHON)
        try:
            import dlcore.data as module
        except ImportError as error:
            raise DataUnavailable(f"cannot import dlcore.data ({error}); install dlcore "
                                  "(pip install -e .) or put python/ on PYTHONPATH") from error
    return module

DATASETS = ("mnist", "cifar10")


@dataclass
class Split:
    """One split in memory: normalised float32 NCHW images and int64 labels, on one device."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device) -> "Split":
        return Split(self.images.to(device), self.labels.to(device), self.classes, self.mean,
                     self.std, self.source)


def limit_indices(dataset: str, total: int, limit: int | None) -> np.ndarray:
    """Which samples --limit keeps.

    MNIST keeps the first N (the files' own order, as dlcore's train_mnist.py --limit does).
    The CIFAR-10 JPEG copy is sorted by class, so its first N would be one class: it keeps N
    evenly strided samples instead, which holds every class in proportion.
    """
    if limit is None or limit >= total:
        return np.arange(total)
    if limit <= 0:
        raise ValueError(f"--limit must be positive, got {limit}")
    if dataset == "mnist":
        return np.arange(limit)
    return (np.arange(limit) * total) // limit


def _read_with_dlcore(dataset: str, root: str, train: bool):
    module = dlcore_data()
    reader = module.MNIST if dataset == "mnist" else module.CIFAR10
    try:
        ds = reader(root, train=train)
    except (OSError, ValueError, RuntimeError) as error:
        raise DataUnavailable(f"{dataset} not readable under {os.path.abspath(root)}: {error}. "
                              "Pass --data DIR or set $DLCORE_DATA (see ../shared/data/README.md)"
                              ) from error
    images = np.asarray(ds.images, dtype=np.uint8)
    return images, np.asarray(ds.labels), list(ds.classes), tuple(ds.mean), tuple(ds.std), "dlcore.data"


def _read_with_torchvision(dataset: str, root: str, train: bool):
    import torchvision  # noqa: F401  (only reached when --torchvision and importable)
    from torchvision import datasets
    if dataset == "mnist":
        ds = datasets.MNIST(root, train=train, download=False)
        images, mean, std = ds.data.numpy(), (0.1307,), (0.3081,)
    else:
        ds = datasets.CIFAR10(root, train=train, download=False)
        images, mean, std = ds.data, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    labels = np.asarray(ds.targets)
    return images, labels, list(ds.classes), mean, std, "torchvision.datasets"


def torchvision_available() -> bool:
    """True when torchvision imports (it does not on the CPU development machine)."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # a broken install raises more than ImportError
        return False
    return True


def load_split(dataset: str, root: str, train: bool, limit: int | None = None,
               use_torchvision: bool = False) -> Split:
    """Read a split, apply --limit and normalise with the reader's per-channel mean/std (using
    dlcore.data.normalize_images, so the float32 inputs are bit-identical to dlcore's).

    With use_torchvision and torchvision importable, torchvision.datasets reads the files (it
    needs its own layouts: MNIST/raw, cifar-10-batches-py); otherwise dlcore's readers do.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")
    if use_torchvision and torchvision_available():
        try:
            parts = _read_with_torchvision(dataset, root, train)
        except (OSError, RuntimeError) as error:
            raise DataUnavailable(f"torchvision could not read {dataset} under {root}: {error}") from error
    else:
        parts = _read_with_dlcore(dataset, root, train)
    images, labels, classes, mean, std, source = parts
    if limit is not None and limit < len(labels):  # fancy indexing copies: only when it selects
        keep = limit_indices(dataset, len(labels), limit)
        images, labels = images[keep], labels[keep]
    x = torch.from_numpy(dlcore_data().normalize_images(np.asarray(images, dtype=np.uint8), mean, std))
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    return Split(x, y, classes, mean, std, source)


def load_dataset(dataset: str, root: str, limit: int | None, device: torch.device,
                 use_torchvision: bool = False) -> tuple[Split, Split]:
    """Train and test splits on `device`; --limit applies to both."""
    train = load_split(dataset, root, True, limit, use_torchvision).to(device)
    test = load_split(dataset, root, False, limit, use_torchvision).to(device)
    return train, test


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled sample order of epoch `epoch` (counted from 1, as printed).

    It is dlcore.data.epoch_order(n, epoch - 1, seed): train_mnist.py numbers its loader's epochs
    from 0 (set_epoch(epoch - 1)), so both frameworks draw the same batches in the same order.
    """
    return dlcore_data().epoch_order(n, epoch - 1, seed, True)


def batches(split: Split, batch_size: int, order: np.ndarray | None = None
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) batches gathered on the split's device; the last batch may be short."""
    index = torch.from_numpy(order if order is not None else np.arange(len(split)))
    index = index.to(split.labels.device)
    for start in range(0, len(index), batch_size):  # `order` may be one rank's share of the split
        chunk = index[start:start + batch_size]
        yield split.images.index_select(0, chunk), split.labels.index_select(0, chunk)


def augment_crop_flip(images: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after `pad` pixels of zero padding, and a random horizontal flip, per sample.

    Works on normalised tensors (zero is the mean colour there) on any device; the random draws
    come from a CPU generator so the result does not depend on the device.
    """
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(images.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    rows = dy[:, None] + torch.arange(h, device=images.device)[None, :]
    cols = dx[:, None] + torch.arange(w, device=images.device)[None, :]
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()
