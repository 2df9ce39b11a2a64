# dlcore.vision.utils.make_grid / save_image (also dl.utils.*) against torchvision.utils' documented
# behaviour (torchvision is not installed here): a hand-computed small grid, shapes, grey-to-RGB, the
# single-image shortcut, normalisation (value_range, scale_each), bad arguments, gradients; then
# against a torch reference written from torchvision's algorithm (cells padded above and left, images
# copied in row-major order into a pad_value canvas); save_image's PNG pixels against the same
# x * 255 + 0.5, clamped, truncated rule.
from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest

import dlcore as dl
from dlcore.vision.utils import make_grid, save_image


def _images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.5, 2.5, size=shape).astype(np.float32)


def test_exported_from_vision_and_utils():
    assert dl.utils.make_grid is make_grid is dl.vision.utils.make_grid
    assert dl.utils.save_image is save_image
    from dlcore.utils import make_grid as again  # noqa: PLC0415
    assert again is make_grid


def test_hand_computed_grid():
    # Three 1x2x2 images, two per row, padding 1 of value 9: grey becomes 3 identical channels,
    # the missing fourth cell is all padding. Height 2 * (2 + 1) + 1 = 7, width 2 * (2 + 1) + 1 = 7.
    images = dl.tensor([[[[1.0, 2.0], [3.0, 4.0]]], [[[5.0, 6.0], [7.0, 8.0]]], [[[-1.0, -2.0], [-3.0, -4.0]]]])
    grid = make_grid(images, nrow=2, padding=1, pad_value=9.0)
    plane = [
        [9, 9, 9, 9, 9, 9, 9],
        [9, 1, 2, 9, 5, 6, 9],
        [9, 3, 4, 9, 7, 8, 9],
        [9, 9, 9, 9, 9, 9, 9],
        [9, -1, -2, 9, 9, 9, 9],
        [9, -3, -4, 9, 9, 9, 9],
        [9, 9, 9, 9, 9, 9, 9],
    ]
    assert grid.dtype == dl.float32
    np.testing.assert_array_equal(grid.numpy(), np.array([plane] * 3, dtype=np.float32))


def test_shape_five_images_three_per_row():
    # torchvision: 3 x (2 * 4 + 3 * 2) x (3 * 4 + 4 * 2)
    assert tuple(make_grid(dl.tensor(_images((5, 3, 4, 4))), nrow=3, padding=2).shape) == (3, 14, 20)
    assert tuple(make_grid(dl.tensor(_images((5, 3, 4, 4)))).shape) == (3, 8, 32)  # nrow 8 > 5: one row
    assert tuple(make_grid(dl.tensor(_images((5, 3, 4, 6))), nrow=2, padding=0).shape) == (3, 12, 12)


def test_single_image_is_returned_unpadded():
    image = _images((3, 5, 6))
    np.testing.assert_array_equal(make_grid(dl.tensor(image), padding=4).numpy(), image)
    np.testing.assert_array_equal(make_grid(dl.tensor(image[None]), padding=4).numpy(), image)
    grey = _images((5, 6))
    for given in (grey, grey[None]):  # HxW and 1xHxW: three copies of the plane
        np.testing.assert_array_equal(make_grid(dl.tensor(given)).numpy(), np.stack([grey] * 3))


def test_list_of_images_and_bad_inputs():
    images = _images((3, 3, 2, 2))
    from_list = make_grid([dl.tensor(i) for i in images], nrow=2)
    np.testing.assert_array_equal(from_list.numpy(), make_grid(dl.tensor(images), nrow=2).numpy())
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(images)
    with pytest.raises(TypeError, match="a list containing"):
        make_grid([dl.tensor(images[0]), images[1]])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(dl.tensor(images), normalize=True, value_range=[0, 1])


def test_normalize_whole_batch_each_image_and_range():
    images = _images((4, 3, 3, 3), seed=1)
    images[2] *= 10  # one image with a wider range, so scale_each differs
    x = dl.tensor(images)

    def expected(batch: np.ndarray, low: float, high: float) -> np.ndarray:
        return (np.clip(batch, low, high) - low) / max(high - low, 1e-5)

    def cells(grid: Any) -> np.ndarray:  # the four 3x3 images back out of a padding-0 grid
        g = grid.numpy()
        return np.stack([g[:, 3 * r:3 * r + 3, 3 * c:3 * c + 3] for r in range(2) for c in range(2)])

    # float32 arithmetic on both sides; 1e-6 covers the scalar division's rounding.
    tol = {"rtol": 1e-6, "atol": 1e-6}
    np.testing.assert_allclose(cells(make_grid(x, nrow=2, padding=0, normalize=True)),
                               expected(images, float(images.min()), float(images.max())), **tol)
    np.testing.assert_allclose(cells(make_grid(x, nrow=2, padding=0, normalize=True, value_range=(-1.0, 1.0))),
                               expected(images, -1.0, 1.0), **tol)
    each = np.stack([expected(i, float(i.min()), float(i.max())) for i in images])
    np.testing.assert_allclose(cells(make_grid(x, nrow=2, padding=0, normalize=True, scale_each=True)), each, **tol)
    # scale_each with a value_range: every image uses that range.
    np.testing.assert_allclose(cells(make_grid(x, nrow=2, padding=0, normalize=True, value_range=(0.0, 2.0),
                                               scale_each=True)), expected(images, 0.0, 2.0), **tol)
    # A constant batch divides by 1e-5, not by zero; the input is never modified.
    flat = make_grid(dl.full((2, 3, 2, 2), 0.5), normalize=True)
    assert np.isfinite(flat.numpy()).all() and float(flat.abs().max().item()) == 0.0
    np.testing.assert_array_equal(x.numpy(), images)


def test_integer_images_and_pad_value():
    images = np.arange(2 * 3 * 2 * 2, dtype=np.uint8).reshape(2, 3, 2, 2)
    grid = make_grid(dl.tensor(images), padding=1, pad_value=255)
    assert grid.dtype == dl.uint8 and tuple(grid.shape) == (3, 4, 7)
    g = grid.numpy()
    np.testing.assert_array_equal(g[:, 1:3, 1:3], images[0])
    np.testing.assert_array_equal(g[:, 1:3, 4:6], images[1])
    assert (g[:, 0, :] == 255).all() and (g[:, :, 3] == 255).all()


def test_gradient_reaches_every_image():
    x = dl.tensor(_images((3, 3, 2, 2)), requires_grad=True)
    weights = _images((3, 10, 10), seed=3)  # 2 x (2 + 2) + 2 each way
    (make_grid(x, nrow=2, padding=2) * dl.tensor(weights)).sum().backward()
    got = x.grad.numpy()
    for k, (r, c) in enumerate([(0, 0), (0, 1), (1, 0)]):
        np.testing.assert_array_equal(got[k], weights[:, 2 + 4 * r:4 + 4 * r, 2 + 4 * c:4 + 4 * c])


# ---- against torchvision's algorithm, written here in torch ----

def _torchvision_grid(torch: Any, tensor: Any, nrow: int, padding: int, pad_value: float) -> Any:
    """torchvision.utils.make_grid's layout loop (without normalisation)."""
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(2, x * width + padding,
                                                                          width - padding).copy_(tensor[k])
            k += 1
    return grid


@pytest.mark.parametrize("count,channels,height,width,nrow,padding,pad_value", [
    (5, 3, 4, 4, 3, 2, 0.0), (7, 1, 3, 5, 4, 1, 0.5), (8, 3, 2, 2, 8, 0, 0.0), (9, 4, 3, 2, 2, 3, -1.0),
    (2, 3, 5, 5, 1, 2, 1.0), (1, 3, 4, 4, 8, 2, 0.0)])
def test_matches_torchvision_layout(device, count, channels, height, width, nrow, padding, pad_value):
    torch = pytest.importorskip("torch")
    images = _images((count, channels, height, width), seed=count)
    want = _torchvision_grid(torch, torch.tensor(images), nrow, padding, pad_value).numpy()
    got = make_grid(dl.tensor(images, device=device), nrow=nrow, padding=padding, pad_value=pad_value)
    assert str(got.device).startswith(device)
    np.testing.assert_array_equal(got.cpu().numpy(), want)


# ---- save_image ----

def _expected_pixels(grid: np.ndarray) -> np.ndarray:
    """torchvision: grid * 255 + 0.5, clamped to [0, 255], cast (truncated) to uint8, HxWxC."""
    scaled = np.clip(grid.astype(np.float32) * np.float32(255) + np.float32(0.5), 0, 255)
    return scaled.astype(np.uint8).transpose(1, 2, 0)


def test_save_image_png_pixels(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    images = np.random.default_rng(4).uniform(-0.1, 1.1, size=(5, 3, 4, 4)).astype(np.float32)
    path = tmp_path / "grid.png"
    save_image(dl.tensor(images), path, nrow=3, padding=1, pad_value=1.0)
    with Image.open(path) as saved:
        assert saved.format == "PNG" and saved.mode == "RGB"
        pixels = np.asarray(saved)
    grid = make_grid(dl.tensor(images), nrow=3, padding=1, pad_value=1.0).numpy()
    np.testing.assert_array_equal(pixels, _expected_pixels(grid))
    assert pixels.shape == (2 * 5 + 1, 3 * 5 + 1, 3)


def test_save_image_grey_to_file_object_with_format():
    Image = pytest.importorskip("PIL.Image")
    grey = np.random.default_rng(5).uniform(0, 1, size=(1, 6, 7)).astype(np.float32)
    buffer = io.BytesIO()
    save_image(dl.tensor(grey), buffer, format="PNG")
    buffer.seek(0)
    with Image.open(buffer) as saved:
        assert saved.mode == "RGB" and saved.size == (7, 6)
        np.testing.assert_array_equal(np.asarray(saved), _expected_pixels(np.concatenate([grey] * 3)))


def test_save_image_normalize_kwargs(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    images = _images((2, 3, 3, 3), seed=6)
    path = tmp_path / "normalized.png"
    save_image(dl.tensor(images), path, normalize=True, value_range=(-1.0, 1.0), padding=0)
    with Image.open(path) as saved:
        pixels = np.asarray(saved)
    grid = make_grid(dl.tensor(images), normalize=True, value_range=(-1.0, 1.0), padding=0).numpy()
    np.testing.assert_array_equal(pixels, _expected_pixels(grid))
    assert pixels.min() == 0 and pixels.max() == 255
