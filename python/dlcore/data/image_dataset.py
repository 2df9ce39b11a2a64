"""The map-style dataset behaviour MNIST and CIFAR10 share: torchvision's ``transform`` /
``target_transform`` and sample format, and a batched fetch for ``dlcore.utils.data.DataLoader``.

A sample is (image, int label). Without a transform the image is what torchvision's ToTensor
makes of it (float32 CxHxW in [0, 1]); a transform receives the stored uint8 image as a numpy array
(HxW for MNIST, HxWx3 for CIFAR-10) where torchvision passes a PIL image, and every
dlcore.vision transform accepts both. When the transform amounts to ToTensor (+ Normalize), the
DataLoader gets whole batches from one gather-normalise kernel over the dataset held as a uint8
tensor (built once, kept until ``.images`` or ``.labels`` is replaced), which is what the
engine-specific ``dlcore.data.DataLoader`` does; other transforms run per sample.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import _C

from ..utils.data.dataset import Dataset


class InMemoryImageDataset(Dataset):
    """Base of MNIST and CIFAR10: uint8 ``.images`` [N, H, W] or [N, H, W, C] and ``.labels`` [N],
    indexed as torchvision's datasets are (see the module note)."""

    images: np.ndarray
    labels: np.ndarray
    classes: list
    mean: tuple
    std: tuple
    channels: int
    transform: Callable[[Any], Any] | None = None
    target_transform: Callable[[Any], Any] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image = self.images[index]
        if self.transform is None:
            from ..vision.functional import to_tensor  # noqa: PLC0415  (vision imports this package)
            image = to_tensor(image)
        else:
            image = self.transform(image)
        target: Any = int(self.labels[index])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __getitems__(self, indices: list) -> list:
        """``[self[i] for i in indices]``, computed as one batch when the transform allows it."""
        collated = self._getitems_collated
        if collated is None:
            return [self[i] for i in indices]
        images, labels = collated(indices)
        return list(zip(images.unbind(0), labels.tolist()))

    @property
    def _getitems_collated(self) -> Callable[[Any], list] | None:
        """A function from indices to ``[images float32 [B, C, H, W], labels int64 [B]]``, what
        default_collate makes of the samples, or None when the transforms must run per sample."""
        if self.target_transform is not None:
            return None
        from ..vision.transforms import _fused_normalization  # noqa: PLC0415
        normalization = _fused_normalization(self.transform, self.channels)
        arrays = self._engine_arrays() if normalization is not None else None
        if arrays is None:
            return None
        images, labels, channels_last = arrays
        mean, std = list(normalization[0]), list(normalization[1])
        size = len(self.labels)
        gather, from_numpy = _C.functional.gather_normalize, _C.from_numpy

        def collated(indices: Any) -> list:
            index = np.asarray(indices, dtype=np.int64)
            try:
                return list(gather(images, labels, from_numpy(index), mean, std, channels_last))
            except ValueError:  # the kernel refuses indices outside [0, N): allow Python's negative ones
                if index.size and index.min() >= -size and index.max() < size:
                    return list(gather(images, labels, from_numpy(np.where(index < 0, index + size, index)), mean,
                                       std, channels_last))
                bad = index[(index < -size) | (index >= size)]
                raise IndexError(f"{type(self).__name__}: index {int(bad[0])} is out of range for {size} samples") \
                    from None

        return collated

    def _engine_arrays(self) -> tuple[Any, Any, bool] | None:
        """(images uint8 tensor [N, C, H, W] or [N, H, W, C], labels uint8 tensor, channels_last)."""
        cache = self.__dict__.get("_engine_cache")
        if cache is not None and cache[0] is self.images and cache[1] is self.labels:
            return cache[2]
        images, labels = np.asarray(self.images), np.asarray(self.labels)
        arrays = None
        if images.dtype == np.uint8 and labels.dtype == np.uint8 and images.ndim in (3, 4) and labels.ndim == 1 \
                and len(images) == len(labels) and (images.ndim == 3 or images.shape[3] <= 4):
            channels_last = images.ndim == 4
            layout = images if channels_last else images[:, None]
            arrays = (_C.from_numpy(np.ascontiguousarray(layout)), _C.from_numpy(np.ascontiguousarray(labels)),
                      channels_last)
        self.__dict__["_engine_cache"] = (self.images, self.labels, arrays)
        return arrays

    def __getstate__(self) -> dict:
        # Pickled for spawned DataLoader workers: the engine copy is rebuilt there, not sent.
        state = dict(self.__dict__)
        state.pop("_engine_cache", None)
        return state

    @property
    def class_to_idx(self) -> dict:
        """Class name -> label, as torchvision's datasets have it."""
        return {name: index for index, name in enumerate(self.classes)}
