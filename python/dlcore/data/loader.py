"""DataLoader: batches of dlcore tensors from an in-memory uint8 dataset (MNIST, CIFAR10).

The dataset is held as a uint8 tensor on the target device (uploaded once for CUDA), and each batch
is gathered and normalised there by one kernel, so a training step moves only the batch's indices.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from .sampler import batch_indices, epoch_order, num_batches


class DataLoader:
    """Iterates ``(images float32 [B, C, H, W], labels int64 [B])`` tensor pairs over a dataset.

    Args mirror torch.utils.data.DataLoader where they apply: ``batch_size``, ``shuffle``,
    ``drop_last``; ``seed`` fixes the shuffling (epoch ``e`` uses ``epoch_order(n, e, seed)``), and
    ``device`` is where batches are produced. ``limit`` keeps only the first ``limit`` samples.
    """

    def __init__(self, dataset: Any, batch_size: int = 64, shuffle: bool = False, seed: int = 0,
                 drop_last: bool = False, device: str = "cpu", limit: int | None = None) -> None:
        from .. import _C  # noqa: PLC0415  (the readers stay importable without the engine)
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self._C = _C
        self.dataset = dataset
        self.batch_size, self.shuffle, self.seed, self.drop_last = batch_size, shuffle, seed, drop_last
        self.device = str(device)
        n = len(dataset) if limit is None else min(int(limit), len(dataset))
        if n <= 0:
            raise ValueError(f"DataLoader: the dataset is empty (len {len(dataset)}, limit {limit})")
        self.num_samples = n
        self.epoch = 0
        images = np.ascontiguousarray(dataset.images[:n])
        self._channels_last = images.ndim == 4
        if images.ndim == 3:
            images = images[:, None]  # [N, 1, H, W]
        self._mean, self._std = tuple(dataset.mean), tuple(dataset.std)
        labels = np.ascontiguousarray(dataset.labels[:n])
        self._images = _C.from_numpy(images).to(self.device)
        self._labels = _C.from_numpy(labels).to(self.device)

    def __len__(self) -> int:
        return num_batches(self.num_samples, self.batch_size, self.drop_last)

    def set_epoch(self, epoch: int) -> None:
        """Chooses the shuffling of the next iteration (also advanced automatically after each one)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        order = epoch_order(self.num_samples, self.epoch, self.seed, self.shuffle)
        self.epoch += 1
        # All of the epoch's batch indices go to the device before its first step: a copy from
        # pageable host memory may wait for the stream, which mid-epoch would stall queued kernels.
        indices = [self._C.from_numpy(index).to(self.device)
                   for index in batch_indices(order, self.batch_size, self.drop_last)]
        for index in indices:
            yield self._batch(index)

    def _batch(self, index: Any) -> tuple[Any, Any]:
        return self._C.functional.gather_normalize(self._images, self._labels, index, list(self._mean),
                                                   list(self._std), self._channels_last)
