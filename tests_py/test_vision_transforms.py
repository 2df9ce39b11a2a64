# dlcore.vision.transforms on PIL images, numpy arrays and dlcore tensors: ToTensor and Normalize
# against torch's arithmetic (bit for bit), flips and crops against numpy/torch slicing and padding,
# tensor resizing against torch's antialiased interpolate, torchvision's size and rounding rules,
# seeded randomness, the one-line error without Pillow, and dlcore.vision.datasets.
from __future__ import annotations

import sys

import numpy as np
import pytest

import dlcore as dl
from dlcore.vision import datasets, transforms as T
from dlcore.vision import functional as F

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (13, 17, 3), dtype=np.uint8)
GREY = RNG.integers(0, 256, (13, 17), dtype=np.uint8)


def chw(image_hwc: np.ndarray) -> dl.Tensor:
    """An HxWxC uint8 array as a float32 CxHxW tensor of the same values."""
    return dl.from_numpy(np.ascontiguousarray(image_hwc.transpose(2, 0, 1)).astype(np.float32))


def test_to_tensor_scales_bytes_like_torch():
    for array in (RGB, GREY):
        ours = T.ToTensor()(array)
        theirs = torch.from_numpy(array if array.ndim == 3 else array[:, :, None]).permute(2, 0, 1).float().div(255)
        assert ours.dtype == dl.float32 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(RGB)).numpy(), T.ToTensor()(RGB).numpy())
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(GREY)).numpy(), T.ToTensor()(GREY).numpy())
    assert T.ToTensor()(Image.fromarray(GREY > 128)).numpy().max() == 1.0  # 1-bit images give 0/1
    assert T.ToTensor()(Image.fromarray(GREY.astype(np.int32))).dtype == dl.int32  # mode I keeps values
    floats = RNG.random((4, 5, 2))
    out = T.ToTensor()(floats)  # non-byte arrays keep their dtype and values, as in torchvision
    assert out.dtype == dl.float64 and out.shape == (2, 4, 5)
    np.testing.assert_array_equal(out.numpy(), floats.transpose(2, 0, 1))
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'dlcore._C.Tensor'>"):
        T.ToTensor()(dl.zeros([3, 2, 2]))
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        T.ToTensor()(np.zeros((1, 2, 2, 3), np.uint8))


def test_normalize_matches_torch_bit_for_bit():
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    image = T.ToTensor()(RGB)
    ours = T.Normalize(mean, std)(image)
    theirs = (torch.from_numpy(image.numpy()) - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(image.numpy(), T.ToTensor()(RGB).numpy())  # not in place by default
    batch = dl.from_numpy(np.stack([image.numpy()] * 2))
    np.testing.assert_array_equal(T.Normalize(mean, std)(batch).numpy()[1], ours.numpy())  # (..., C, H, W)
    same = T.Normalize(mean, std, inplace=True)(image)
    np.testing.assert_array_equal(image.numpy(), ours.numpy())
    assert same is image or np.array_equal(same.numpy(), image.numpy())
    doubles = T.Normalize(0.5, 0.25)(dl.from_numpy(np.ones((1, 2, 2))))
    assert doubles.dtype == dl.float64 and doubles.numpy().max() == 2.0
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize(mean, std)(RGB)
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got dlcore.uint8."):
        T.Normalize(mean, std)(dl.from_numpy(RGB))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        T.Normalize(mean, std)(dl.zeros([4, 4]))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize(mean, (1.0, 0.0, 1.0))(image)
    with pytest.raises(RuntimeError, match="mean has 2 and std 3 values for a tensor with 3 channels"):
        T.Normalize((0.1, 0.2), std)(image)


def test_compose_and_lambda_apply_in_order():
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2), T.Normalize((1.0,), (2.0,))])
    np.testing.assert_allclose(pipeline(GREY).numpy()[0], (GREY / 255 * 2 - 1) / 2, rtol=0, atol=1e-6)
    assert "ToTensor()" in repr(pipeline) and "Normalize(mean=(1.0,), std=(2.0,))" in repr(pipeline)
    with pytest.raises(TypeError, match="Argument lambd should be callable"):
        T.Lambda(3)


def test_horizontal_flip_on_every_kind_and_its_probability():
    flip = T.RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(flip(RGB), RGB[:, ::-1])
    np.testing.assert_array_equal(np.asarray(flip(Image.fromarray(RGB))), RGB[:, ::-1])
    np.testing.assert_array_equal(flip(chw(RGB)).numpy(), torch.flip(torch.from_numpy(chw(RGB).numpy()), [-1]).numpy())
    assert T.RandomHorizontalFlip(p=0.0)(RGB) is RGB
    dl.manual_seed(3)
    draws = [T.RandomHorizontalFlip()(GREY) is not GREY for _ in range(400)]
    dl.manual_seed(3)
    assert [T.RandomHorizontalFlip()(GREY) is not GREY for _ in range(400)] == draws  # seeded by dl.manual_seed
    assert 140 < sum(draws) < 260  # p = 0.5 (5 sigma)


def find_window(big: np.ndarray, small: np.ndarray) -> list[tuple[int, int]]:
    height, width = small.shape[:2]
    return [(top, left) for top in range(big.shape[0] - height + 1) for left in range(big.shape[1] - width + 1)
            if np.array_equal(big[top:top + height, left:left + width], small)]


def test_random_crop_is_a_window_of_the_padded_image():
    crop = T.RandomCrop((9, 11), padding=(1, 2))  # left/right 1, top/bottom 2
    padded = np.pad(RGB, ((2, 2), (1, 1), (0, 0)))
    dl.manual_seed(0)
    offsets = set()
    for _ in range(60):
        out = crop(RGB)
        assert out.shape == (9, 11, 3)
        offsets.update(find_window(padded, out))
    assert len(offsets) > 20 and all(0 <= t <= 8 and 0 <= l <= 8 for t, l in offsets)
    pil_out = T.RandomCrop(13 + 2, padding=1, fill=(255, 0, 7))(Image.fromarray(RGB))  # per-channel fill on PIL
    expected = np.pad(RGB, ((1, 1), (1, 1), (0, 0)))
    expected[0, :], expected[-1, :], expected[:, 0], expected[:, -1] = [255, 0, 7], [255, 0, 7], [255, 0, 7], [255, 0, 7]
    assert pil_out.size == (15, 15) and find_window(expected, np.asarray(pil_out))
    assert T.RandomCrop(13)(GREY[:, :13]).shape == (13, 13)


@pytest.mark.parametrize("mode, torch_mode", [("reflect", "reflect"), ("edge", "replicate"), ("constant", "constant")])
def test_padding_modes_match_torch(mode, torch_mode):
    tensor = chw(RGB)
    padded = F.pad(tensor, (3, 1, 2, 4), 0, mode).numpy()
    theirs = torch.nn.functional.pad(torch.from_numpy(tensor.numpy())[None], (3, 2, 1, 4), mode=torch_mode)[0].numpy()
    np.testing.assert_array_equal(padded, theirs)
    np.testing.assert_array_equal(F.pad(RGB, (3, 1, 2, 4), 0, mode).transpose(2, 0, 1), theirs.astype(np.uint8))
    symmetric = F.pad(GREY, (2, 2, 2, 2), 0, "symmetric")
    np.testing.assert_array_equal(symmetric, np.pad(GREY, 2, mode="symmetric"))


def test_random_crop_pad_if_needed_and_errors():
    out = T.RandomCrop((16, 20), pad_if_needed=True, padding_mode="edge")(GREY)
    assert out.shape == (16, 20) and find_window(np.pad(GREY, ((3, 3), (3, 3)), mode="edge"), out)
    with pytest.raises(ValueError, match=r"Required crop size \(14, 17\) is larger than input image size \(13, 17\)"):
        T.RandomCrop((14, 17))(RGB)
    with pytest.raises(ValueError, match="Padding mode should be either constant, edge, reflect or symmetric"):
        T.RandomCrop(4, padding_mode="wrap")
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4 element tuple, not a 3 element tuple"):
        T.RandomCrop(4, padding=(1, 2, 3))
    with pytest.raises(ValueError, match=r"Please provide only two dimensions \(h, w\) for size."):
        T.RandomCrop((1, 2, 3))
    dl.manual_seed(9)
    first = T.RandomCrop(8, padding=4)(chw(RGB)).numpy()
    dl.manual_seed(9)
    np.testing.assert_array_equal(T.RandomCrop(8, padding=4)(chw(RGB)).numpy(), first)


def test_center_crop_rounds_and_pads_like_torchvision():
    # torchvision: top = int(round((13 - 6) / 2)) = 4 (round half to even), left = int(round((17 - 8) / 2)) = 4
    np.testing.assert_array_equal(T.CenterCrop((6, 8))(RGB), RGB[4:10, 4:12])
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((6, 8))(Image.fromarray(RGB))), RGB[4:10, 4:12])
    np.testing.assert_array_equal(T.CenterCrop((6, 8))(chw(RGB)).numpy(), chw(RGB).numpy()[:, 4:10, 4:12])
    bigger = T.CenterCrop((16, 20))(GREY)  # pads (20-17)//2=1 left, 2 right, 1 top, 2 bottom with zeros
    np.testing.assert_array_equal(bigger, np.pad(GREY, ((1, 2), (1, 2))))


def test_resize_sizes_follow_torchvision():
    resize = T.Resize(16)  # shorter side (width 17 > height 13: height) to 16, width int(16 * 17 / 13) = 20
    assert resize(RGB).shape == (16, 20, 3) and resize(Image.fromarray(RGB)).size == (20, 16)
    assert T.Resize((5, 7))(chw(RGB)).shape == (3, 5, 7)
    assert T.Resize([8], max_size=9)(RGB).shape == (7, 9, 3)  # 8 x 10, capped: long side 9, short int(9 * 8 / 10)
    assert T.Resize(13)(RGB) is RGB  # already that size
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="If size is a sequence, it should have 1 or 2 values"):
        T.Resize((1, 2, 3))


def test_resize_matches_pillow_and_torchs_antialiased_interpolate():
    np.testing.assert_array_equal(T.Resize((7, 9))(RGB), np.asarray(Image.fromarray(RGB).resize((9, 7), Image.BILINEAR)))
    values = RNG.random((3, 37, 29)).astype(np.float32)
    for size, mode, torch_mode in [((16, 20), T.InterpolationMode.BILINEAR, "bilinear"),
                                   ((50, 61), T.InterpolationMode.BILINEAR, "bilinear"),
                                   ((20, 11), T.InterpolationMode.BICUBIC, "bicubic")]:
        ours = T.Resize(size, interpolation=mode)(dl.from_numpy(values)).numpy()
        theirs = torch.nn.functional.interpolate(torch.from_numpy(values)[None], size=size, mode=torch_mode,
                                                 antialias=True, align_corners=False)[0].numpy()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)  # float32 filters summed in other orders


def test_random_resized_crop():
    crop = T.RandomResizedCrop(8, scale=(0.2, 0.9))
    dl.manual_seed(1)
    for _ in range(20):
        top, left, height, width = crop.get_params(RGB, crop.scale, crop.ratio)
        assert 0 <= top and top + height <= 13 and 0 <= left and left + width <= 17
        assert 3 / 4 * 0.7 <= width / height <= 4 / 3 * 1.4  # rounding to whole pixels widens the ratio a little
    assert crop(RGB).shape == (8, 8, 3) and crop(chw(RGB)).shape == (3, 8, 8) and crop(Image.fromarray(RGB)).size == (8, 8)
    # an impossible ratio falls back to the whole image cut to the nearest allowed ratio, centred
    assert T.RandomResizedCrop.get_params(GREY, (1.0, 1.0), (5.0, 6.0)) == (5, 0, 3, 17)
    with pytest.warns(UserWarning, match=r"Scale and ratio should be of kind \(min, max\)"):
        T.RandomResizedCrop(4, scale=(1.0, 0.5))


def test_without_pillow_only_resizing_fails_with_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    for transform in (T.Resize(4), T.RandomResizedCrop(4)):
        with pytest.raises(ImportError) as error:
            transform(RGB)
        assert "pip install dlcore[vision]" in str(error.value) and "\n" not in str(error.value)
    assert T.Compose([T.RandomCrop(8, padding=2), T.RandomHorizontalFlip(), T.ToTensor()])(RGB).shape == (3, 8, 8)


def test_vision_datasets_are_dlcores_readers(tmp_path):
    from test_data_mnist import random_split as random_mnist, write_split
    assert datasets.MNIST is dl.data.MNIST and datasets.CIFAR10 is dl.data.CIFAR10
    images, labels = random_mnist(40, seed=2)
    write_split(tmp_path, "t10k", images, labels, gz=True)
    augmented = datasets.MNIST(tmp_path, train=False, transform=T.Compose(
        [T.RandomCrop(28, padding=2), T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
    assert augmented._getitems_collated is None  # a random crop runs per sample
    batch, targets = next(iter(dl.utils.data.DataLoader(augmented, batch_size=32, shuffle=True)))
    assert batch.shape == (32, 1, 28, 28) and batch.dtype == dl.float32 and targets.dtype == dl.int64
    assert augmented.class_to_idx["3 - three"] == 3
    np.testing.assert_array_equal(augmented.targets.numpy(), labels.astype(np.int64))
    np.testing.assert_array_equal(augmented.data.numpy(), images)
