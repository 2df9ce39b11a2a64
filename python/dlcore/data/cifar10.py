# CIFAR-10 reader: the official pickled batches (torchvision's layout) or an image folder
# <split>/<class>/*.jpg|png, plain or zipped. JPEG decoding is slow (~6 s for 60000 images), so the
# decoded uint8 arrays are cached once as .npz next to the data, or in a user cache when that is read-only.
from __future__ import annotations

import hashlib
import io
import logging
import os
import pathlib
import pickle
import tempfile
import warnings
import zipfile
from typing import Any, Callable

import numpy as np

from .common import data_root, dataset_missing_message
from .download import download_cifar10
from .image_dataset import InMemoryImageDataset

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
IMAGE_SHAPE = (32, 32, 3)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CACHE_FORMAT_VERSION = 1
_log = logging.getLogger("dlcore.data")


# ----- official pickled batches --------------------------------------------------------------

def _unpickle(path: pathlib.Path) -> dict:
    # The official CIFAR-10 format is a Python pickle; encoding='bytes' is how it was written.
    try:
        with open(path, "rb") as handle:
            content = pickle.load(handle, encoding="bytes")
    except Exception as error:
        raise ValueError(f"{path}: not a readable CIFAR-10 batch ({type(error).__name__}: {error})") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a dict, found {type(content).__name__}")
    return content


def _read_pickled_batches(batch_dir: pathlib.Path, train: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    missing = [batch_dir / name for name in names if not (batch_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(dataset_missing_message(
            "CIFAR-10", missing, "<data>/cifar-10-batches-py/{data_batch_1..5,test_batch}"))
    images, labels = [], []
    for name in names:
        batch = _unpickle(batch_dir / name)
        data, batch_labels = batch.get(b"data"), batch.get(b"labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            shape = getattr(data, "shape", None)
            raise ValueError(f"{batch_dir / name}: b'data' must be uint8 [N, 3072], got "
                             f"{getattr(data, 'dtype', type(data).__name__)} {shape}")
        if batch_labels is None or len(batch_labels) != len(data):
            raise ValueError(f"{batch_dir / name}: {len(data)} images but "
                             f"{None if batch_labels is None else len(batch_labels)} labels")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch_labels, dtype=np.int64))
    all_labels = np.concatenate(labels)
    if len(all_labels) and (all_labels.min() < 0 or all_labels.max() >= 10):
        raise ValueError(f"{batch_dir}: labels outside [0, 10): min {all_labels.min()}, max {all_labels.max()}")
    classes = list(CIFAR10_CLASSES)
    if (batch_dir / "batches.meta").is_file():
        names_in_meta = _unpickle(batch_dir / "batches.meta").get(b"label_names")
        if names_in_meta is not None and len(names_in_meta) == 10:
            classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names_in_meta]
    return np.ascontiguousarray(np.concatenate(images)), all_labels.astype(np.uint8), classes


# ----- image folder (zip or directory) -------------------------------------------------------

class _ImageFolder:
    """The members of `<split>/<class>/<image>` in a zip or a directory, in sorted-name order."""

    def __init__(self, path: pathlib.Path, split: str) -> None:
        self.path = path
        self.is_zip = path.suffix == ".zip"
        if self.is_zip:
            try:
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
            except zipfile.BadZipFile as error:
                raise ValueError(f"{path}: not a readable zip file ({error})") from error
            prefix = f"{split}/"
            members = [n for n in names if n.startswith(prefix) and n.lower().endswith(IMAGE_SUFFIXES)
                       and n.count("/") == 2]
            self.members = sorted(members)
            self.member_classes = [name.split("/")[1] for name in self.members]
        else:
            files = [p for p in path.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
            self.members = sorted(str(p.relative_to(path).as_posix()) for p in files)
            self.member_classes = [name.split("/")[0] for name in self.members]
        if not self.members:
            raise ValueError(f"{path}: no images found under '{split}/<class>/*.jpg|png'")
        self.classes = sorted(set(self.member_classes))
        if len(self.classes) != 10:
            raise ValueError(f"{path}: CIFAR-10 needs 10 class folders, found {len(self.classes)}: {self.classes}")

    def cache_key(self) -> np.ndarray:
        """Changes whenever the source changes: size+mtime of the zip, or of every file in a directory."""
        if self.is_zip:
            info = self.path.stat()
            return np.array([CACHE_FORMAT_VERSION, info.st_size, info.st_mtime_ns, len(self.members)], np.int64)
        infos = [(self.path / member).stat() for member in self.members]
        return np.array([CACHE_FORMAT_VERSION, sum(i.st_size for i in infos),
                         max(i.st_mtime_ns for i in infos), len(self.members)], np.int64)

    def decode(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Decode the first `count` members with Pillow into uint8 [count,32,32,3] and their labels."""
        from PIL import Image  # only this path needs Pillow

        class_index = {name: index for index, name in enumerate(self.classes)}
        images = np.empty((count,) + IMAGE_SHAPE, dtype=np.uint8)
        labels = np.array([class_index[c] for c in self.member_classes[:count]], dtype=np.uint8)
        archive = zipfile.ZipFile(self.path) if self.is_zip else None
        try:
            for index, member in enumerate(self.members[:count]):
                raw = archive.read(member) if archive else (self.path / member).read_bytes()
                try:
                    with Image.open(io.BytesIO(raw)) as image:
                        if image.mode != "RGB":
                            image = image.convert("RGB")
                        if image.size != (32, 32):
                            raise ValueError(f"image is {image.size[0]}x{image.size[1]}, CIFAR-10 images are 32x32")
                        images[index] = np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(IMAGE_SHAPE)
                except ValueError as error:
                    raise ValueError(f"{self.path}: {member}: {error}") from error
                except OSError as error:  # Pillow's "cannot identify image file" and truncated images
                    raise ValueError(f"{self.path}: {member}: cannot decode image ({error})") from error
        finally:
            if archive:
                archive.close()
        return images, labels


# ----- decoded-array cache -------------------------------------------------------------------

def user_cache_dir() -> pathlib.Path:
    """Where caches go: $DLCORE_CACHE, else ~/.cache/dlcore; never beside the data, which may be a
    shared read-only copy (and a cache there would surprise whoever owns it)."""
    return pathlib.Path(os.environ.get("DLCORE_CACHE") or pathlib.Path.home() / ".cache" / "dlcore").expanduser()


def _cache_path(source: pathlib.Path) -> pathlib.Path:
    # Several data roots may share the cache directory, so the file name carries the source's path.
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:16]
    return user_cache_dir() / f"cifar10-{source.name}-{digest}.npz"


def _read_cache(path: pathlib.Path, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as cache:
            if not np.array_equal(cache["key"], key):
                return None
            images, labels, classes = cache["images"], cache["labels"], [str(c) for c in cache["classes"]]
    except Exception as error:  # a damaged cache is only a lost shortcut: decode again
        warnings.warn(f"ignoring unreadable CIFAR-10 cache {path}: {error}")
        return None
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE or labels.shape != (len(images),):
        warnings.warn(f"ignoring CIFAR-10 cache {path}: unexpected shapes {images.shape}, {labels.shape}")
        return None
    return images, labels, classes


def _write_cache_atomically(path: pathlib.Path, key: np.ndarray, images: np.ndarray, labels: np.ndarray,
                            classes: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            np.savez(temp_file, key=key, images=images, labels=labels, classes=np.array(classes))
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise


def _store_cache(source: pathlib.Path, key: np.ndarray, images: np.ndarray, labels: np.ndarray,
                 classes: list[str]) -> pathlib.Path | None:
    path = _cache_path(source)
    try:
        _write_cache_atomically(path, key, images, labels, classes)
        return path
    except OSError as error:
        warnings.warn(f"could not cache decoded CIFAR-10 from {source} at {path} ({error}); it will be decoded "
                      "again next time (set DLCORE_CACHE to a writable directory)")
        return None


# ----- the dataset ---------------------------------------------------------------------------

class CIFAR10(InMemoryImageDataset):
    """CIFAR-10 held in memory as uint8: `.images` [N,32,32,3] (HWC), `.labels` [N].

    Looks, in order, for `<root>/cifar-10-batches-py/` (official pickled batches),
    `<root>/cifar10-jpeg/{train,test}.zip` and `<root>/cifar10-jpeg/{train,test}/<class>/*.jpg|png`.
    Class index = position in the sorted class names. Image folders are decoded with Pillow once
    and cached (see `user_cache_dir`). `limit` keeps only the first `limit` images of the split in
    sorted-name order (class by class, so a small limit covers few classes); a limited decode is
    never cached, but is served from an existing full cache. As a dataset it follows
    torchvision.datasets.CIFAR10: ``ds[i]`` is (image, int label), the image float32 [3,32,32] in
    [0, 1] (ToTensor's) or ``transform`` applied to the uint8 32x32x3 numpy image; see
    image_dataset.py. `.mean`/`.std` are the training set's statistics. ``download=True`` fetches
    and safely extracts the official tarball when nothing is found (MD5-checked; see download.py).
    """

    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2470, 0.2435, 0.2616)
    channels = 3

    def __init__(self, root: str | os.PathLike | None, train: bool = True,
                 transform: Callable[[Any], Any] | None = None, target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False, limit: int | None = None) -> None:
        if limit is not None and limit < 0:
            raise ValueError(f"CIFAR10: limit must be >= 0 or None, got {limit}")
        self.root = data_root(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.limit = limit
        split = "train" if train else "test"
        batches = self.root / "cifar-10-batches-py"
        folder_zip = self.root / "cifar10-jpeg" / f"{split}.zip"
        folder_dir = self.root / "cifar10-jpeg" / split
        if not (batches.is_dir() or folder_zip.is_file() or folder_dir.is_dir()) and download:
            download_cifar10(self.root)
        if batches.is_dir():
            self.source = batches
            self.images, self.labels, self.classes = _read_pickled_batches(batches, train)
            if limit is not None:
                self.images, self.labels = self.images[:limit].copy(), self.labels[:limit].copy()
        elif folder_zip.is_file() or folder_dir.is_dir():
            self.source = folder_zip if folder_zip.is_file() else folder_dir
            self.images, self.labels, self.classes = self._load_image_folder(self.source, split, limit)
        else:
            raise FileNotFoundError(dataset_missing_message(
                "CIFAR-10", [batches, folder_zip, folder_dir],
                "<data>/cifar-10-batches-py/ (official) or <data>/cifar10-jpeg/{train,test}.zip "
                "holding <split>/<class>/*.jpg"))

    @staticmethod
    def _load_image_folder(source: pathlib.Path, split: str,
                           limit: int | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        folder = _ImageFolder(source, split)
        key = folder.cache_key()
        cached = _read_cache(_cache_path(source), key)
        if cached is not None:
            images, labels, classes = cached
            if limit is not None:
                images, labels = images[:limit].copy(), labels[:limit].copy()
            return images, labels, classes
        count = len(folder.members) if limit is None else min(limit, len(folder.members))
        _log.info("decoding %d CIFAR-10 images from %s (once; then cached)", count, source)
        images, labels = folder.decode(count)
        if limit is None:
            _store_cache(source, key, images, labels, folder.classes)
        return images, labels, folder.classes

    @property
    def data(self) -> np.ndarray:
        """The images, uint8 [N, 32, 32, 3] (torchvision's ``CIFAR10.data``)."""
        return self.images

    @property
    def targets(self) -> list:
        """The labels as a list of ints (torchvision's ``CIFAR10.targets``)."""
        return self.labels.astype(np.int64).tolist()

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"CIFAR10(split={split}, n={len(self)}, source={str(self.source)!r})"
