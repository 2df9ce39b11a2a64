# Tests for dlcore.data's CIFAR-10 reader: tiny synthetic image folders (zip and directory) and
# pickled batches written here cover decoding, class order, the .npz cache (where it goes, when it
# is refreshed, that `limit` never writes one) and every error; the real zips are read with a cap.
import io
import os
import pathlib
import pickle
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from dlcore.data import CIFAR10, CIFAR10_CLASSES, normalize_images
from dlcore.data import cifar10 as cifar10_module

REAL_USER_CACHE_DIR = cifar10_module.user_cache_dir
REAL_DLCORE_CACHE = os.environ.get("DLCORE_CACHE")
CLASSES = sorted(["truck", "airplane", "cat", "bird", "ship", "dog", "frog", "horse", "deer", "automobile"])


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> pathlib.Path:
    """Keep every test's caches inside tmp_path, never in ~/.cache (also when DLCORE_CACHE is unset)."""
    cache = tmp_path / "user-cache"
    monkeypatch.setenv("DLCORE_CACHE", str(cache))
    monkeypatch.setattr(cifar10_module, "user_cache_dir", lambda: cache)
    return cache


def encode(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def synthetic_split(per_class: int, seed: int) -> dict[str, np.ndarray]:
    """member name -> pixels, random images as lossless PNGs so decoded bytes can be compared exactly."""
    rng = np.random.default_rng(seed)
    return {f"{cls}/{i:04d}.png": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            for cls in CLASSES for i in range(per_class)}


def write_zip(path: pathlib.Path, split: str, members: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name in reversed(list(members)):  # stored out of order on purpose: the reader must sort
            archive.writestr(f"{split}/{name}", encode(members[name], "PNG"))


def expected_arrays(members: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    names = sorted(members)
    return (np.stack([members[n] for n in names]),
            np.array([CLASSES.index(n.split("/")[0]) for n in names], np.uint8))


def make_zip_root(tmp_path: pathlib.Path, per_class: int = 2) -> tuple[pathlib.Path, dict, dict]:
    root = tmp_path / "data"
    train, test = synthetic_split(per_class, seed=1), synthetic_split(1, seed=2)
    write_zip(root / "cifar10-jpeg" / "train.zip", "train", train)
    write_zip(root / "cifar10-jpeg" / "test.zip", "test", test)
    return root, train, test


def test_zip_image_folder_decodes_in_sorted_order_and_caches_in_the_cache_dir(tmp_path, monkeypatch, private_cache):
    root, train_members, test_members = make_zip_root(tmp_path)
    train = CIFAR10(root, train=True)
    images, labels = expected_arrays(train_members)
    np.testing.assert_array_equal(train.images, images)
    np.testing.assert_array_equal(train.labels, labels)
    assert train.classes == CLASSES == CIFAR10_CLASSES
    assert train.images.dtype == np.uint8 and train.images.shape == (20, 32, 32, 3)
    assert len(CIFAR10(root, train=False)) == 10
    (cache,) = private_cache.glob("cifar10-train.zip-*.npz")
    assert not any(p.suffix == ".tmp" for p in cache.parent.iterdir())
    assert sorted(p.name for p in (root / "cifar10-jpeg").iterdir()) == ["test.zip", "train.zip"]  # nothing beside the data

    def no_decoding(self, count):
        raise AssertionError("decoded although a valid cache exists")
    monkeypatch.setattr(cifar10_module._ImageFolder, "decode", no_decoding)
    again = CIFAR10(root, train=True)
    np.testing.assert_array_equal(again.images, images)
    assert again.classes == CLASSES


def test_changed_source_is_decoded_again(tmp_path):
    root, _, _ = make_zip_root(tmp_path)
    first = CIFAR10(root, train=True)
    replacement = synthetic_split(3, seed=5)
    zip_path = root / "cifar10-jpeg" / "train.zip"
    write_zip(zip_path, "train", replacement)
    os.utime(zip_path, ns=(zip_path.stat().st_atime_ns, zip_path.stat().st_mtime_ns + 10**9))
    second = CIFAR10(root, train=True)
    assert len(first) == 20 and len(second) == 30
    np.testing.assert_array_equal(second.images, expected_arrays(replacement)[0])


def test_read_only_data_dir_caches_in_user_cache(tmp_path, private_cache):
    root, train_members, _ = make_zip_root(tmp_path)
    data_dir = root / "cifar10-jpeg"
    data_dir.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        dataset = CIFAR10(root, train=True)
    finally:
        data_dir.chmod(0o755)
    assert not (data_dir / "train.zip.dlcore-cache.npz").exists()
    cached = list(private_cache.glob("cifar10-train.zip-*.npz"))
    assert len(cached) == 1
    np.testing.assert_array_equal(dataset.images, expected_arrays(train_members)[0])


def test_explicit_dlcore_cache_wins(tmp_path, private_cache):
    root, _, _ = make_zip_root(tmp_path)
    CIFAR10(root, train=False)
    assert len(list(private_cache.glob("cifar10-test.zip-*.npz"))) == 1
    assert not (root / "cifar10-jpeg" / "test.zip.dlcore-cache.npz").exists()


def test_limit_takes_first_images_and_writes_no_cache(tmp_path, private_cache):
    root, train_members, _ = make_zip_root(tmp_path)
    limited = CIFAR10(root, train=True, limit=3)
    images, labels = expected_arrays(train_members)
    np.testing.assert_array_equal(limited.images, images[:3])
    np.testing.assert_array_equal(limited.labels, labels[:3])
    assert limited.classes == CLASSES
    assert not private_cache.exists() or not any(private_cache.iterdir())
    assert not (root / "cifar10-jpeg" / "train.zip.dlcore-cache.npz").exists()
    CIFAR10(root, train=True)  # writes the full cache; a limit is then served from it
    np.testing.assert_array_equal(CIFAR10(root, train=True, limit=3).images, images[:3])
    with pytest.raises(ValueError, match="limit"):
        CIFAR10(root, limit=-1)


def test_damaged_cache_is_ignored(tmp_path, private_cache):
    root, train_members, _ = make_zip_root(tmp_path)
    CIFAR10(root, train=True)
    (cache,) = private_cache.glob("cifar10-train.zip-*.npz")
    cache.write_bytes(b"not a zip at all")
    with pytest.warns(UserWarning, match="unreadable CIFAR-10 cache"):
        dataset = CIFAR10(root, train=True)
    np.testing.assert_array_equal(dataset.images, expected_arrays(train_members)[0])


def test_plain_directory_with_jpeg_and_png(tmp_path):
    root = tmp_path / "data"
    rng = np.random.default_rng(3)
    for index, cls in enumerate(CLASSES):
        folder = root / "cifar10-jpeg" / "test" / cls
        folder.mkdir(parents=True)
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        fmt, suffix = ("JPEG", "jpg") if index % 2 else ("PNG", "png")
        (folder / f"0000.{suffix}").write_bytes(encode(pixels, fmt))
    (root / "cifar10-jpeg" / "test" / "cat" / "notes.txt").write_text("ignored")
    dataset = CIFAR10(root, train=False)
    assert dataset.images.shape == (10, 32, 32, 3)
    assert dataset.labels.tolist() == list(range(10))
    image, label = dataset[4]  # torchvision's sample: ToTensor's float32 [3, 32, 32] in [0, 1], int label
    assert image.shape == (3, 32, 32) and str(image.dtype) == "dlcore.float32" and label == 4
    np.testing.assert_array_equal(image.numpy(), normalize_images(dataset.images[4:5], (0, 0, 0), (1, 1, 1))[0])


def test_bad_image_folders(tmp_path):
    root, _, _ = make_zip_root(tmp_path)
    with zipfile.ZipFile(root / "cifar10-jpeg" / "test.zip", "a") as archive:
        archive.writestr("test/cat/9999.jpg", b"definitely not a jpeg")
    with pytest.raises(ValueError, match=r"test/cat/9999\.jpg"):
        CIFAR10(root, train=False)
    with zipfile.ZipFile(root / "cifar10-jpeg" / "test.zip", "w") as archive:
        archive.writestr("test/cat/0000.png", encode(np.zeros((16, 32, 3), np.uint8), "PNG"))
    with pytest.raises(ValueError, match="10 class folders"):
        CIFAR10(root, train=False)
    with zipfile.ZipFile(root / "cifar10-jpeg" / "test.zip", "w") as archive:
        for cls in CLASSES:
            archive.writestr(f"test/{cls}/0000.png", encode(np.zeros((16, 32, 3), np.uint8), "PNG"))
    with pytest.raises(ValueError, match="32x16"):
        CIFAR10(root, train=False)
    (root / "cifar10-jpeg" / "test.zip").write_bytes(b"PK but broken")
    with pytest.raises(ValueError, match="not a readable zip"):
        CIFAR10(root, train=False)


def write_batches(directory: pathlib.Path, per_batch: int, seed: int) -> dict[str, tuple[np.ndarray, list]]:
    directory.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch).tolist()
        batches[name] = (data, labels)
        with open(directory / name, "wb") as handle:
            pickle.dump({b"batch_label": name.encode(), b"data": data, b"labels": labels}, handle)
    with open(directory / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": [c.encode() for c in CIFAR10_CLASSES]}, handle)
    return batches


def test_pickled_batches_are_preferred_and_transposed_to_hwc(tmp_path):
    root, _, _ = make_zip_root(tmp_path)
    batches = write_batches(root / "cifar-10-batches-py", per_batch=4, seed=4)
    train, test = CIFAR10(root, train=True), CIFAR10(root, train=False)
    assert train.source.name == "cifar-10-batches-py"
    assert train.images.shape == (20, 32, 32, 3) and train.images.flags["C_CONTIGUOUS"]
    assert test.images.shape == (4, 32, 32, 3)
    data, labels = batches["data_batch_2"]
    # the official row layout is 1024 red, 1024 green, 1024 blue bytes, each row-major
    image = train.images[4 + 1]
    assert image[7, 3, 0] == data[1, 7 * 32 + 3]
    assert image[7, 3, 1] == data[1, 1024 + 7 * 32 + 3]
    assert image[31, 30, 2] == data[1, 2048 + 31 * 32 + 30]
    assert train.labels[4:8].tolist() == labels
    assert train.classes == CIFAR10_CLASSES
    assert len(CIFAR10(root, train=True, limit=6)) == 6


def test_pickled_batches_errors(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    write_batches(directory, per_batch=2, seed=6)
    with open(directory / "data_batch_3", "wb") as handle:
        pickle.dump({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}, handle)
    with pytest.raises(ValueError, match=r"data_batch_3.*\[N, 3072\]"):
        CIFAR10(tmp_path)
    with open(directory / "data_batch_3", "wb") as handle:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, handle)
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        CIFAR10(tmp_path)
    (directory / "data_batch_3").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ValueError, match="data_batch_3"):
        CIFAR10(tmp_path)
    (directory / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        CIFAR10(tmp_path)


def test_missing_dataset_message(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        CIFAR10(tmp_path)
    message = str(error.value)
    for place in ("cifar-10-batches-py", "train.zip", "DLCORE_DATA", "--data", "download"):
        assert place in message


def real_cifar_root() -> pathlib.Path:
    root = os.environ.get("DLCORE_DATA")
    if root and (pathlib.Path(root) / "cifar10-jpeg" / "train.zip").is_file():
        return pathlib.Path(root)
    message = f"cifar10-jpeg not found under DLCORE_DATA={root!r}"
    if os.environ.get("DLCORE_REQUIRE_DATA") == "1":
        pytest.fail(message + " (DLCORE_REQUIRE_DATA=1)")
    pytest.skip(message)


@pytest.mark.parametrize("train", [True, False])
def test_real_cifar_first_images(train, private_cache):
    root = real_cifar_root()
    dataset = CIFAR10(root, train=train, limit=64)
    assert dataset.images.shape == (64, 32, 32, 3) and dataset.images.dtype == np.uint8
    assert dataset.classes == CIFAR10_CLASSES
    assert dataset.labels.tolist() == [0] * 64  # sorted-name order starts with airplane
    assert 20 < dataset.images.mean() < 235 and dataset.images.std() > 10  # real pictures, not blank
    assert not private_cache.exists()  # a limited decode writes no cache


@pytest.mark.parametrize("train", [True, False])
def test_real_cifar_full(train, monkeypatch):
    """The full split; decoding takes ~6 s, so run only with a cache already there or DLCORE_TEST_FULL_CIFAR=1."""
    root = real_cifar_root()
    # use the real user cache, where an earlier run or a training job left the decoded arrays
    monkeypatch.setattr(cifar10_module, "user_cache_dir", REAL_USER_CACHE_DIR)
    if REAL_DLCORE_CACHE:
        monkeypatch.setenv("DLCORE_CACHE", REAL_DLCORE_CACHE)
    else:
        monkeypatch.delenv("DLCORE_CACHE")
    source = root / "cifar10-jpeg" / ("train.zip" if train else "test.zip")
    if os.environ.get("DLCORE_TEST_FULL_CIFAR") != "1" and not cifar10_module._cache_path(source).is_file():
        pytest.skip("no decoded CIFAR-10 cache yet; set DLCORE_TEST_FULL_CIFAR=1 to decode")
    dataset = CIFAR10(root, train=train)
    per_class = 5000 if train else 1000
    assert dataset.images.shape == (10 * per_class, 32, 32, 3)
    assert np.bincount(dataset.labels, minlength=10).tolist() == [per_class] * 10
