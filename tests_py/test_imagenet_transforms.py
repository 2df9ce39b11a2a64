# torchvision's ImageNet recipe with dlcore.vision.transforms on PIL images: RandomResizedCrop(224)
# against torchvision's documented algorithm (the order of its four draws, scale and log-uniform
# ratio, the rounding, the 10-try fallback to a ratio-clamped central crop), RandomHorizontalFlip's
# draw, Resize(256) + CenterCrop(224) sizes and offsets, and ToTensor + Normalize against torch's
# arithmetic on the same Pillow-resized pixels.
from __future__ import annotations

import math

import numpy as np
import pytest

from dlcore.vision import transforms as T

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def photo(width: int, height: int, seed: int = 0) -> "Image.Image":
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


class Draws:
    """Stands in for dlcore's global generator: uniform floats from a seeded stream, logged."""

    def __init__(self, seed: int) -> None:
        self.rng, self.log = np.random.default_rng(seed), []

    def uniform(self) -> float:
        value = float(self.rng.random())
        self.log.append(value)
        return value

    def randint(self, low: int, high: int) -> int:
        return low + min(int(self.uniform() * (high - low)), high - low - 1)


def torchvision_params(width: int, height: int, scale, ratio, draws: list[float]):
    """torchvision.transforms.RandomResizedCrop.get_params, written from its documentation, on the
    given uniform draws (each torch draw is one uniform here)."""
    area, stream = height * width, iter(draws)
    for _ in range(10):
        target_area = area * (scale[0] + (scale[1] - scale[0]) * next(stream))
        log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
        aspect = math.exp(log_low + (log_high - log_low) * next(stream))
        w, h = int(round(math.sqrt(target_area * aspect))), int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = min(int(next(stream) * (height - h + 1)), height - h)
            left = min(int(next(stream) * (width - w + 1)), width - w)
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@pytest.fixture()
def draws(monkeypatch: pytest.MonkeyPatch) -> Draws:
    stream = Draws(7)
    monkeypatch.setattr(T, "_global_uniform", stream.uniform)
    monkeypatch.setattr(T, "_global_randint", stream.randint)
    return stream


def to_normalized_torch(image: "Image.Image") -> "torch.Tensor":
    planes = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float().div(255)
    return (planes - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)


@pytest.mark.parametrize("size", [(500, 375), (375, 500), (300, 40), (40, 300), (224, 224)])
def test_random_resized_crop_is_torchvisions_algorithm(draws: Draws, size: tuple[int, int]):
    image = photo(*size)
    crop = T.RandomResizedCrop(224)
    assert crop.scale == (0.08, 1.0) and crop.ratio == (3.0 / 4.0, 4.0 / 3.0)
    for _ in range(30):
        start = len(draws.log)
        params = crop.get_params(image, crop.scale, crop.ratio)
        assert params == torchvision_params(*size, crop.scale, crop.ratio, draws.log[start:])


def test_the_ten_tries_fall_back_to_a_ratio_clamped_center_crop(draws: Draws):
    # Whole-image area at ratio ~1 never fits a 100x10 strip: ten tries, then the fallback.
    assert T.RandomResizedCrop.get_params(photo(100, 10), (0.9, 1.0), (0.75, 4 / 3)) == (0, 43, 10, 13)
    assert len(draws.log) == 20  # two draws per failed try, none for the fallback
    assert T.RandomResizedCrop.get_params(photo(10, 100), (0.9, 1.0), (0.75, 4 / 3)) == (43, 0, 13, 10)


def test_training_recipe_end_to_end(draws: Draws):
    image = photo(500, 375, seed=1)
    recipe = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    for _ in range(4):
        start = len(draws.log)
        out = recipe(image).numpy()
        top, left, h, w = torchvision_params(500, 375, (0.08, 1.0), (0.75, 4 / 3), draws.log[start:])
        expected = image.crop((left, top, left + w, top + h)).resize((224, 224), Image.BILINEAR)
        if draws.log[-1] < 0.5:  # RandomHorizontalFlip: flip when torch.rand(1) < p
            expected = expected.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        np.testing.assert_array_equal(out, to_normalized_torch(expected).numpy())


@pytest.mark.parametrize("size, resized, offset", [((500, 375), (341, 256), (58, 16)),
                                                   ((375, 500), (256, 341), (16, 58)),
                                                   ((300, 300), (256, 256), (16, 16))])
def test_evaluation_recipe(size, resized, offset):
    image = photo(*size, seed=2)
    out = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])(image).numpy()
    left, top = offset  # int(round((resized - 224) / 2)): 58.5 rounds to even, as in torchvision
    expected = image.resize(resized, Image.BILINEAR).crop((left, top, left + 224, top + 224))
    np.testing.assert_array_equal(out, to_normalized_torch(expected).numpy())
