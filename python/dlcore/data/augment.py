"""Training-time augmentation for image datasets: random crop after padding, and horizontal flip.

DataLoader gathers and normalises batches on the device in one kernel, which leaves no place to
alter pixels; augmentation therefore works on the host's uint8 batch (cheap: about a millisecond for
128 CIFAR images) and hands the result to the same gather-normalise kernel. The draws depend only on
(seed, epoch), like the batch order, so a resumed run sees the very same augmented images.
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from ..vision.functional import pad_array
from .loader import DataLoader
from .sampler import batch_indices, epoch_order

_AUGMENT_STREAM = 0xA46  # keeps the augmentation draws independent of epoch_order's permutation


def random_crop_flip(images: np.ndarray, rng: np.random.Generator, padding: int = 4,
                     fill: Sequence[int] | int = 0) -> np.ndarray:
    """Per image: pad by ``padding`` pixels of ``fill``, crop back to the original size at a random
    offset, and mirror left-right with probability 1/2.

    ``images`` is uint8 [B, H, W, C] (channels last, as datasets store them) or [B, H, W]; returns a
    new array of the same shape and dtype. ``fill`` is one value or one per channel.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"random_crop_flip: expected uint8 images [B,H,W] or [B,H,W,C], got {images.dtype} "
                         f"{list(images.shape)}")
    if padding < 0:
        raise ValueError(f"random_crop_flip: padding must be >= 0, got {padding}")
    batch, height, width = images.shape[:3]
    padded = pad_array(images, (padding,) * 4, fill, "constant", height_axis=1,
                       channel_axis=3 if images.ndim == 4 else None)
    top = rng.integers(0, 2 * padding + 1, size=batch)
    left = rng.integers(0, 2 * padding + 1, size=batch)
    flip = rng.random(batch) < 0.5
    rows = top[:, None] + np.arange(height)[None, :]
    cols = left[:, None] + np.arange(width)[None, :]
    cols = np.where(flip[:, None], cols[:, ::-1], cols)
    return padded[np.arange(batch)[:, None, None], rows[:, :, None], cols[:, None, :]]


class AugmentedDataLoader(DataLoader):
    """DataLoader whose training batches go through ``random_crop_flip`` before normalisation.

    Padding uses the dataset's mean colour, which normalises to ~0: the same border as padding the
    normalised tensor with zeros (what baseline_torch does), so both frameworks see alike inputs.
    """

    def __init__(self, dataset: Any, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, device: str = "cpu", limit: int | None = None, padding: int = 4) -> None:
        super().__init__(dataset, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last, device=device,
                         limit=limit)
        self.padding = padding
        self._host_images = np.asarray(dataset.images[:self.num_samples])
        self._host_labels = np.ascontiguousarray(dataset.labels[:self.num_samples])
        self._fill = [int(round(255 * m)) for m in dataset.mean]

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        order = epoch_order(self.num_samples, self.epoch, self.seed, self.shuffle)
        rng = np.random.default_rng([self.seed, self.epoch, _AUGMENT_STREAM])
        self.epoch += 1
        from .. import _C as C  # noqa: PLC0415  (as in loader.py: the readers import without the engine)
        channels_last = self._host_images.ndim == 4
        for index in batch_indices(order, self.batch_size, self.drop_last):
            images = random_crop_flip(self._host_images[index], rng, self.padding, self._fill)
            if not channels_last:
                images = images[:, None]  # [B, 1, H, W], the layout the kernel expects for grey images
            images_on_device = C.from_numpy(np.ascontiguousarray(images)).to(self.device)
            labels_on_device = C.from_numpy(self._host_labels[index]).to(self.device)
            positions = C.from_numpy(np.arange(len(index), dtype=np.int64)).to(self.device)
            yield C.functional.gather_normalize(images_on_device, labels_on_device, positions,
                                                list(self.dataset.mean), list(self.dataset.std), channels_last)


__all__ = ["random_crop_flip", "AugmentedDataLoader"]
