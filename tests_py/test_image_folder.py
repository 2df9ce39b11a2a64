# dl.data.ImageFolder / DatasetFolder with torchvision's semantics (sorted classes, extensions in
# any case, sorted walk, imgs/targets, the errors for a tree without classes or with an empty class,
# extensions vs is_valid_file), the loaders' pixels against Pillow's convert("RGB") (what
# torchvision's pil_loader returns) for colour, greyscale, progressive, CMYK and PNG files, and a
# truncated or corrupt file's error naming it, through the DataLoader's workers too.
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import dlcore as dl
from dlcore.data import image_decode
from dlcore.vision import datasets, transforms as T

Image = pytest.importorskip("PIL.Image")

RNG = np.random.default_rng(3)


def photo(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    smooth = np.stack([x * 255 // width, y * 255 // height, (x + y) * 127 // (width + height)], axis=-1)
    return np.clip(smooth + RNG.integers(-20, 20, smooth.shape), 0, 255).astype(np.uint8)


def write_image(path: Path, width: int = 40, height: int = 30, mode: str = "RGB", **save: object) -> Path:
    image = Image.fromarray(photo(width, height)).convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save)
    return path


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "train"
    write_image(root / "cat" / "b.JPG", format="JPEG", quality=90)
    write_image(root / "cat" / "a.jpeg", 31, 47, format="JPEG", quality=75, progressive=True)
    write_image(root / "cat" / "sub" / "c.png", 20, 20, mode="L")
    write_image(root / "ant" / "x.jpg", 64, 48, mode="L", format="JPEG")
    (root / "ant" / "notes.txt").write_text("not an image")
    write_image(root / "dog" / "y.bmp", 16, 9)
    write_image(root / "dog" / "z.jpg", 50, 20, mode="CMYK", format="JPEG")
    return root


def test_classes_samples_and_targets_follow_torchvision(tree: Path):
    dataset = dl.data.ImageFolder(str(tree))
    assert datasets.ImageFolder is dl.data.ImageFolder
    assert dataset.classes == ["ant", "cat", "dog"]
    assert dataset.class_to_idx == {"ant": 0, "cat": 1, "dog": 2}
    names = [Path(path).relative_to(tree).as_posix() for path, _ in dataset.samples]
    assert names == ["ant/x.jpg", "cat/a.jpeg", "cat/b.JPG", "cat/sub/c.png", "dog/y.bmp", "dog/z.jpg"]
    assert dataset.targets == [0, 1, 1, 1, 2, 2] and dataset.imgs is dataset.samples and len(dataset) == 6
    image, target = dataset[3]
    assert image.mode == "RGB" and image.size == (20, 20) and target == 1
    assert ".webp" in dl.data.IMG_EXTENSIONS and "Number of datapoints: 6" in repr(dataset)


def test_transforms_and_is_valid_file(tree: Path):
    dataset = dl.data.ImageFolder(tree, transform=T.Compose([T.Resize(8), T.CenterCrop(8), T.ToTensor()]),
                                  target_transform=lambda t: t * 10,
                                  is_valid_file=lambda path: path.endswith(".png"), allow_empty=True)
    assert len(dataset) == 1
    image, target = dataset[0]
    assert image.shape == (3, 8, 8) and image.dtype == dl.float32 and target == 10
    texts = dl.data.DatasetFolder(tree, loader=lambda p: Path(p).read_text(), extensions=".txt", allow_empty=True)
    assert texts.samples == [(str(tree / "ant" / "notes.txt"), 0)] and texts[0][0] == "not an image"


def test_errors_as_torchvision_raises_them(tree: Path, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        dl.data.ImageFolder(tree / "cat" / "sub")
    with pytest.raises(FileNotFoundError):
        dl.data.ImageFolder(tmp_path / "missing")
    (tree / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty. Supported extensions"):
        dl.data.ImageFolder(tree)
    assert len(dl.data.ImageFolder(tree, allow_empty=True)) == 6
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        dl.data.DatasetFolder(tree, dl.data.default_loader, extensions=(".jpg",), is_valid_file=lambda p: True)
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        dl.data.DatasetFolder(tree, dl.data.default_loader)


def test_loaders_give_pillows_pixels(tree: Path):
    for path, _ in dl.data.ImageFolder(tree).samples:
        with Image.open(path) as reference:
            expected = np.asarray(reference.convert("RGB"))
        for loader in (dl.data.default_loader, dl.data.pil_loader):
            image = loader(path)
            assert image.mode == "RGB", path
            np.testing.assert_array_equal(np.asarray(image), expected, err_msg=f"{loader.__name__} {path}")


def test_default_loader_without_simplejpeg_is_pillow(tree: Path, monkeypatch: pytest.MonkeyPatch):
    path = tree / "cat" / "b.JPG"
    fast = np.asarray(dl.data.default_loader(str(path)))
    monkeypatch.setattr(image_decode, "simplejpeg", None)
    np.testing.assert_array_equal(np.asarray(dl.data.default_loader(str(path))), fast)


def truncated_jpeg(path: Path) -> Path:
    good = io.BytesIO()
    Image.fromarray(photo(64, 64)).save(good, format="JPEG", quality=90)
    path.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    return path


def broken_files(folder: Path) -> list[Path]:
    truncated = truncated_jpeg(folder / "truncated.jpg")
    garbage = folder / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8" + bytes(RNG.integers(0, 256, 300, dtype=np.uint8)))
    not_image = folder / "text.png"
    not_image.write_text("hello")
    return [truncated, garbage, not_image]


@pytest.mark.parametrize("use_simplejpeg", [True, False])
def test_a_broken_file_raises_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 use_simplejpeg: bool):
    if not use_simplejpeg:
        monkeypatch.setattr(image_decode, "simplejpeg", None)
    for path in broken_files(tmp_path):
        for loader in (dl.data.default_loader, dl.data.pil_loader):
            with pytest.raises(OSError, match="cannot decode image file") as caught:
                loader(str(path))
            assert str(path) in str(caught.value)
    with pytest.raises(FileNotFoundError):
        dl.data.default_loader(str(tmp_path / "absent.jpg"))


def test_a_broken_file_in_a_worker_names_it(tree: Path):
    broken = truncated_jpeg(tree / "cat" / "truncated.jpg")
    dataset = dl.data.ImageFolder(tree, transform=T.Compose([T.Resize((8, 8)), T.ToTensor()]))
    loader = dl.utils.data.DataLoader(dataset, batch_size=4, num_workers=1)
    with pytest.raises(OSError, match="truncated.jpg") as caught:
        list(loader)
    assert str(broken) in str(caught.value)
