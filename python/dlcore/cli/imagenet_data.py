"""The ImageNet trainer's data: the ImageNet layout read as two ImageFolders, torchvision's reference
presets as transforms, and a loader that fit() can drive (set_epoch, num_samples, batches on the device).

Presets (torchvision/references/classification/presets.py with its defaults): training is
RandomResizedCrop(crop) + RandomHorizontalFlip(0.5) + ToTensor + Normalize(ImageNet mean, std);
evaluation is Resize(resize) + CenterCrop(crop) + ToTensor + Normalize, both bilinear. Decoding and
transforms run in the DataLoader's worker processes (persistent across epochs), whose batches come
back through shared memory (dlcore.utils.data.shared_batches).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from .. import Generator
from ..data import ImageFolder
from ..data.sampler import epoch_order
from ..utils.data import DataLoader, Sampler
from ..vision import transforms as T
from . import UsageFailure

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def train_preset(crop_size: int) -> T.Compose:
    return T.Compose([T.RandomResizedCrop(crop_size), T.RandomHorizontalFlip(0.5), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def eval_preset(resize_size: int, crop_size: int) -> T.Compose:
    return T.Compose([T.Resize(resize_size), T.CenterCrop(crop_size), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def open_split(data_path: Path, split: str, transform: Any) -> ImageFolder:
    """``data_path/split`` as an ImageFolder; a missing or empty tree is a one-line usage error."""
    folder = data_path / split
    if not folder.is_dir():
        raise UsageFailure(f"--data-path {data_path}: no {split}/ folder (expected the ImageNet layout "
                           f"{data_path}/train/<class>/*.JPEG and {data_path}/val/<class>/*.JPEG)")
    try:
        return ImageFolder(str(folder), transform=transform)
    except FileNotFoundError as error:
        raise UsageFailure(f"--data-path {data_path}: {split}/: {error}") from None


def open_imagenet(data_path: Path, train_transform: Any, val_transform: Any) -> tuple[ImageFolder, ImageFolder]:
    """The train and val ImageFolders; their class folders must be the same."""
    train = open_split(data_path, "train", train_transform)
    val = open_split(data_path, "val", val_transform)
    if val.classes != train.classes:
        only = sorted(set(train.classes) ^ set(val.classes))[:3]
        raise UsageFailure(f"--data-path {data_path}: train/ has {len(train.classes)} classes and val/ "
                           f"{len(val.classes)}, which differ (e.g. {', '.join(only)}); both need the same class "
                           "folders")
    return train, val


class EpochOrder(Sampler):
    """Epoch ``epoch``'s order of ``size`` samples, a function of (seed, epoch) alone (dlcore.data's
    epoch_order), so a resumed run visits them as an uninterrupted one does."""

    def __init__(self, size: int, seed: int, shuffle: bool) -> None:
        self.size, self.seed, self.shuffle, self.epoch = size, seed, shuffle, 0

    def __iter__(self) -> Iterator[int]:
        return iter(epoch_order(self.size, self.epoch, self.seed, self.shuffle).tolist())

    def __len__(self) -> int:
        return self.size


class EpochLoader:
    """A dlcore.utils.data.DataLoader as fit() drives one: ``set_epoch(e)`` picks epoch e's order
    (EpochOrder); batches move to ``device``; ``num_samples`` is the dataset's size. The workers'
    augmentation draws are seeded from ``seed`` when they start."""

    def __init__(self, dataset: Any, batch_size: int, *, shuffle: bool, workers: int, seed: int,
                 device: str) -> None:
        self.device = device
        self.order = EpochOrder(len(dataset), seed, shuffle)
        self.loader = DataLoader(dataset, batch_size=batch_size, sampler=self.order, num_workers=workers,
                                 generator=Generator().manual_seed(seed), persistent_workers=workers > 0)
        self.num_samples = len(dataset)

    def set_epoch(self, epoch: int) -> None:
        self.order.epoch = epoch

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for images, labels in self.loader:
            if self.device != "cpu":
                images, labels = images.to(self.device), labels.to(self.device)
            yield images, labels


__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "train_preset", "eval_preset", "open_imagenet", "EpochLoader"]
