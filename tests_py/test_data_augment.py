"""dlcore.data.augment: random_crop_flip is exactly "pad, crop at a random offset, maybe mirror", and
the augmenting loader's draws depend only on (seed, epoch)."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore as dl
from dlcore.data.augment import AugmentedDataLoader, random_crop_flip


def reference_crop_flip(image: np.ndarray, top: int, left: int, flip: bool, padding: int, fill) -> np.ndarray:
    h, w = image.shape[:2]
    padded = np.empty((h + 2 * padding, w + 2 * padding) + image.shape[2:], np.uint8)
    padded[...] = np.asarray(fill, np.uint8)
    padded[padding:padding + h, padding:padding + w] = image
    crop = padded[top:top + h, left:left + w]
    return crop[:, ::-1] if flip else crop


@pytest.mark.parametrize("shape", [(64, 8, 8, 3), (64, 8, 8)])
def test_each_output_is_a_padded_crop_maybe_mirrored(shape) -> None:
    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    fill = [10, 20, 30] if len(shape) == 4 else 7
    out = random_crop_flip(images, np.random.default_rng(1), padding=2, fill=fill)
    assert out.shape == images.shape and out.dtype == np.uint8
    offsets_seen, flips_seen = set(), set()
    for image, result in zip(images, out):
        matches = [(t, l, f) for t in range(5) for l in range(5) for f in (False, True)
                   if np.array_equal(result, reference_crop_flip(image, t, l, f, 2, fill))]
        assert matches, "output is not a crop of the padded image"
        offsets_seen.add(matches[0][:2])
        flips_seen.add(matches[0][2])
    assert len(offsets_seen) > 10 and flips_seen == {False, True}  # 25 offsets, 64 draws


def test_zero_padding_only_flips() -> None:
    images = np.random.default_rng(2).integers(0, 256, (32, 4, 4, 3), dtype=np.uint8)
    out = random_crop_flip(images, np.random.default_rng(3), padding=0)
    assert all(np.array_equal(o, i) or np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images))


def test_rejects_float_images() -> None:
    with pytest.raises(ValueError, match="uint8"):
        random_crop_flip(np.zeros((2, 4, 4, 3), np.float32), np.random.default_rng(0))


class ColourImages:
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.2, 0.2)

    def __init__(self) -> None:
        rng = np.random.default_rng(5)
        self.images = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8)
        self.labels = rng.integers(0, 10, 40).astype(np.uint8)

    def __len__(self) -> int:
        return 40


def batches(loader, epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    loader.set_epoch(epoch)
    return [(x.numpy(), y.numpy()) for x, y in loader]


def test_loader_is_deterministic_per_epoch_and_keeps_labels() -> None:
    dataset = ColourImages()
    a = AugmentedDataLoader(dataset, batch_size=16, seed=1)
    b = AugmentedDataLoader(dataset, batch_size=16, seed=1)
    plain = dl.data.DataLoader(dataset, batch_size=16, shuffle=True, seed=1)
    first, again, other = batches(a, 3), batches(b, 3), batches(a, 4)
    assert all(np.array_equal(x1, x2) for (x1, _), (x2, _) in zip(first, again))
    assert not all(np.array_equal(x1, x2) for (x1, _), (x2, _) in zip(first, other))
    # Same batch order and labels as the plain loader; the images differ only by the augmentation.
    reference = batches(plain, 3)
    assert all(np.array_equal(y1, y2) for (_, y1), (_, y2) in zip(first, reference))
    assert [x.shape for x, _ in first] == [x.shape for x, _ in reference] == [(16, 3, 8, 8)] * 2 + [(8, 3, 8, 8)]


def test_padding_is_the_mean_colour() -> None:
    # White images: every output pixel is either white or padding, and padding normalises to ~0
    # (the mean rounded to a byte is within 0.5/255/std = 0.01 of it).
    dataset = ColourImages()
    dataset.images[...] = 255
    (x, _), *_ = batches(AugmentedDataLoader(dataset, batch_size=40, seed=2), 0)
    white = (1.0 - np.array(dataset.mean)) / np.array(dataset.std)
    is_white = np.isclose(x, white[None, :, None, None], atol=1e-5)
    is_padding = np.abs(x) < 0.011
    assert np.all(is_white | is_padding)
    assert is_padding.mean() > 0.1  # offsets up to 4 pixels on 8x8 images pad a good share
