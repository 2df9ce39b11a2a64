# MNIST reader for torchvision's on-disk layout (<root>/MNIST/raw/*-ubyte[.gz]) into uint8 numpy
# arrays. It checks every header field and byte count, because a silently truncated download would
# otherwise show up much later as a mysteriously bad accuracy.
from __future__ import annotations

import gzip
import os
import pathlib
import zlib
from typing import Any, BinaryIO, Callable

import numpy as np

from .common import data_root, dataset_missing_message
from .download import download_mnist
from .image_dataset import InMemoryImageDataset

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
IMAGE_SIDE = 28
_READ_CHUNK = 1 << 20


def _idx_file_names(train: bool) -> tuple[str, str]:
    prefix = "train" if train else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _locate(raw_dir: pathlib.Path, name: str) -> pathlib.Path | None:
    # torchvision leaves both forms after a download; the plain one is cheaper to read.
    for candidate in (raw_dir / name, raw_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _open_stream(path: pathlib.Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_exactly(stream: BinaryIO, buffer: memoryview) -> int:
    """Fill `buffer` from `stream`; returns how many bytes arrived (fewer means the file ended)."""
    filled = 0
    while filled < len(buffer):
        try:
            count = stream.readinto(buffer[filled:filled + _READ_CHUNK])
        except EOFError:  # a cut gzip stream: report it below as a short file, with sizes
            break
        if not count:
            break
        filled += count
    return filled


def read_idx_file(path: pathlib.Path, expected_magic: int) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a writable uint8 array shaped by its header."""
    expected_ndim = expected_magic & 0xFF
    header_size = 4 + 4 * expected_ndim
    try:
        with _open_stream(path) as stream:
            header = bytearray(header_size)
            got = _read_exactly(stream, memoryview(header))
            if got < 4:
                raise ValueError(f"{path}: file too short for an IDX header ({got} bytes)")
            magic = int.from_bytes(header[:4], "big")
            if magic != expected_magic:
                raise ValueError(
                    f"{path}: wrong magic number {magic} (expected {expected_magic}); "
                    f"this is not an MNIST {'images' if expected_ndim == 3 else 'labels'} file")
            if got < header_size:
                raise ValueError(
                    f"{path}: truncated header: expected {header_size} bytes, got {got}")
            dims = tuple(int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big") for i in range(expected_ndim))
            payload_size = int(np.prod(dims, dtype=np.int64))
            expected_total = header_size + payload_size
            data = np.empty(dims, dtype=np.uint8)
            got = _read_exactly(stream, memoryview(data.reshape(-1)))
            if got < payload_size:
                raise ValueError(
                    f"{path}: truncated: header says {dims} so expected {expected_total} bytes "
                    f"(uncompressed), got {header_size + got}")
            extra = len(stream.read(_READ_CHUNK))
            if extra:
                raise ValueError(
                    f"{path}: expected {expected_total} bytes (uncompressed) for shape {dims}, "
                    f"but the file is longer (at least {expected_total + extra} bytes)")
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(f"{path}: corrupted or truncated gzip stream ({error})") from error
    return data


class MNIST(InMemoryImageDataset):
    """MNIST held in memory as uint8: `.images` [N,28,28], `.labels` [N].

    Reads `<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` (torchvision's
    layout). As a dataset it follows torchvision.datasets.MNIST: ``ds[i]`` is (image, int label),
    the image float32 [1,28,28] in [0, 1] (ToTensor's) or ``transform`` applied to the uint8
    28x28 numpy image; see image_dataset.py. `.mean`/`.std` are the training set's statistics.
    ``download=True`` fetches missing files (MD5-checked, no torchvision needed; see download.py).
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    mean = (0.1307,)
    std = (0.3081,)
    channels = 1

    def __init__(self, root: str | os.PathLike | None, train: bool = True,
                 transform: Callable[[Any], Any] | None = None, target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False) -> None:
        self.root = data_root(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.raw_dir = self.root / "MNIST" / "raw"
        images_name, labels_name = _idx_file_names(train)
        images_path, labels_path = _locate(self.raw_dir, images_name), _locate(self.raw_dir, labels_name)
        if (images_path is None or labels_path is None) and download:
            download_mnist(self.root)
            images_path, labels_path = _locate(self.raw_dir, images_name), _locate(self.raw_dir, labels_name)
        if images_path is None or labels_path is None:
            missing = [self.raw_dir / f"{name}[.gz]" for name, found in
                       ((images_name, images_path), (labels_name, labels_path)) if found is None]
            raise FileNotFoundError(dataset_missing_message(
                "MNIST", missing, "<data>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"))
        self.images = read_idx_file(images_path, IMAGES_MAGIC)
        self.labels = read_idx_file(labels_path, LABELS_MAGIC)
        if self.images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"{images_path}: images are {self.images.shape[1]}x{self.images.shape[2]}, "
                             f"MNIST images are {IMAGE_SIDE}x{IMAGE_SIDE}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"MNIST: {images_path} holds {len(self.images)} images but {labels_path} "
                             f"holds {len(self.labels)} labels")
        if len(self.labels) and int(self.labels.max()) >= len(self.classes):
            raise ValueError(f"{labels_path}: label {int(self.labels.max())} out of range [0, 10)")

    @property
    def data(self) -> Any:
        """The images as a uint8 tensor [N, 28, 28] (torchvision's ``MNIST.data``), copied on each access."""
        from .. import _C  # noqa: PLC0415
        return _C.from_numpy(np.ascontiguousarray(self.images))

    @property
    def targets(self) -> Any:
        """The labels as an int64 tensor [N] (torchvision's ``MNIST.targets``)."""
        from .. import _C  # noqa: PLC0415
        return _C.from_numpy(self.labels.astype(np.int64))

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"MNIST(split={split}, n={len(self)}, root={str(self.root)!r})"
