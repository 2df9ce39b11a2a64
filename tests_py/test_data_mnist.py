# Tests for dlcore.data's MNIST reader, normalisation and epoch sampler: synthetic IDX files cover
# every validation path (gzip/plain, truncation, bad magic, mismatched counts, missing data), and
# the real files under $DLCORE_DATA are checked against the md5s and label counts of the original set.
import gzip
import hashlib
import os
import pathlib

import numpy as np
import pytest

from dlcore.data import MNIST, batch_indices, data_root, epoch_order, normalize_images

# md5 of the uncompressed files, from the data README
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def real_data_root() -> pathlib.Path:
    """$DLCORE_DATA with MNIST in it, else skip (or fail when DLCORE_REQUIRE_DATA=1)."""
    root = os.environ.get("DLCORE_DATA")
    if root and (pathlib.Path(root) / "MNIST" / "raw").is_dir():
        return pathlib.Path(root)
    message = f"MNIST not found under DLCORE_DATA={root!r}"
    if os.environ.get("DLCORE_REQUIRE_DATA") == "1":
        pytest.fail(message + " (DLCORE_REQUIRE_DATA=1)")
    pytest.skip(message)


def idx_bytes(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + payload


def write_split(root: pathlib.Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    files = {f"{prefix}-images-idx3-ubyte": idx_bytes(2051, images.shape, images.tobytes()),
             f"{prefix}-labels-idx1-ubyte": idx_bytes(2049, labels.shape, labels.tobytes())}
    for name, content in files.items():
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (raw / name).write_bytes(content)


def random_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n, dtype=np.uint8))


@pytest.mark.parametrize("gz", [False, True])
def test_synthetic_round_trip(tmp_path, gz):
    images, labels = random_split(37, seed=1)
    write_split(tmp_path, "train", images, labels, gz)
    test_images, test_labels = random_split(5, seed=2)
    write_split(tmp_path, "t10k", test_images, test_labels, gz)
    train, test = MNIST(tmp_path, train=True), MNIST(str(tmp_path), train=False)
    np.testing.assert_array_equal(train.images, images)
    np.testing.assert_array_equal(train.labels, labels)
    np.testing.assert_array_equal(test.images, test_images)
    assert len(train) == 37 and len(test) == 5
    assert train.images.dtype == np.uint8 and train.images.flags["C_CONTIGUOUS"]
    assert train.labels.dtype == np.uint8 and train.labels.shape == (37,)
    assert train.channels == 1 and len(train.classes) == 10


def test_getitem_follows_torchvision(tmp_path):
    import dlcore as dl
    from dlcore.vision import transforms as T
    images, labels = random_split(4, seed=3)
    write_split(tmp_path, "train", images, labels, gz=False)
    image, label = MNIST(tmp_path)[-1]  # no transform: ToTensor's float32 [1, 28, 28] in [0, 1]
    assert image.shape == (1, 28, 28) and image.dtype == dl.float32
    assert isinstance(label, int) and label == int(labels[-1])
    np.testing.assert_array_equal(image.numpy()[0], images[-1].astype(np.float32) / np.float32(255))
    normalized = MNIST(tmp_path, transform=T.Compose([T.ToTensor(), T.Normalize(MNIST.mean, MNIST.std)]),
                       target_transform=lambda y: y + 100)
    image, label = normalized[-1]
    # torchvision's ToTensor + Normalize arithmetic in float32; exact equality is intended
    expected = (images[-1].astype(np.float32) / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_array_equal(image.numpy()[0], expected)
    assert label == int(labels[-1]) + 100
    seen = []
    MNIST(tmp_path, transform=seen.append)[1]  # a transform receives the stored uint8 image
    assert seen[0].dtype == np.uint8 and seen[0].shape == (28, 28)
    np.testing.assert_array_equal(seen[0], images[1])


def test_plain_file_is_preferred_over_gz(tmp_path):
    gz_images, labels = random_split(6, seed=4)
    write_split(tmp_path, "train", gz_images, labels, gz=True)
    plain_images = 255 - gz_images
    write_split(tmp_path, "train", plain_images, labels, gz=False)
    np.testing.assert_array_equal(MNIST(tmp_path).images, plain_images)


def test_truncated_plain_file_names_file_and_sizes(tmp_path):
    images, labels = random_split(10, seed=5)
    write_split(tmp_path, "train", images, labels, gz=False)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    expected_size = 16 + 10 * 28 * 28
    with pytest.raises(ValueError) as error:
        MNIST(tmp_path)
    message = str(error.value)
    assert "train-images-idx3-ubyte" in message and "truncated" in message
    assert str(expected_size) in message and str(expected_size - 100) in message


def test_truncated_gzip_stream_is_a_value_error(tmp_path):
    images, labels = random_split(50, seed=6)
    write_split(tmp_path, "train", images, labels, gz=True)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        MNIST(tmp_path)


def test_gzip_of_short_payload_reports_sizes(tmp_path):
    images, labels = random_split(8, seed=7)
    write_split(tmp_path, "train", images, labels, gz=True)
    path = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(2049, (8,), labels.tobytes()[:5])))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz.*expected 16 bytes.*got 13"):
        MNIST(tmp_path)


def test_trailing_bytes_are_rejected(tmp_path):
    images, labels = random_split(3, seed=8)
    write_split(tmp_path, "train", images, labels, gz=False)
    path = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="longer"):
        MNIST(tmp_path)


def test_wrong_magic(tmp_path):
    images, labels = random_split(3, seed=9)
    write_split(tmp_path, "train", images, labels, gz=False)
    # a labels file where the images file should be
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(idx_bytes(2049, (3,), labels.tobytes()))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*magic number 2049.*2051"):
        MNIST(tmp_path)


def test_wrong_image_size(tmp_path):
    rng = np.random.default_rng(10)
    write_split(tmp_path, "train", rng.integers(0, 256, (2, 27, 28), dtype=np.uint8),
                np.array([1, 2], np.uint8), gz=False)
    with pytest.raises(ValueError, match="27x28"):
        MNIST(tmp_path)


def test_mismatched_counts(tmp_path):
    images, _ = random_split(7, seed=11)
    write_split(tmp_path, "train", images, np.arange(6, dtype=np.uint8), gz=True)
    with pytest.raises(ValueError, match="7 images.*6 labels"):
        MNIST(tmp_path)


def test_label_out_of_range(tmp_path):
    images, _ = random_split(2, seed=12)
    write_split(tmp_path, "train", images, np.array([3, 10], np.uint8), gz=False)
    with pytest.raises(ValueError, match="label 10"):
        MNIST(tmp_path)


def test_missing_dataset_message(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        MNIST(tmp_path / "nowhere", train=False)
    message = str(error.value)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in message
    assert "t10k-images-idx3-ubyte" in message
    assert "DLCORE_DATA" in message and "--data" in message and "download" in message


def test_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))
    assert data_root("/explicit") == pathlib.Path("/explicit")
    assert data_root() == tmp_path
    monkeypatch.delenv("DLCORE_DATA")
    assert data_root() == pathlib.Path("data")


def test_normalize_images_layouts():
    rng = np.random.default_rng(13)
    hwc = rng.integers(0, 256, (4, 5, 6, 3), dtype=np.uint8)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    out = normalize_images(hwc, mean, std)
    assert out.shape == (4, 3, 5, 6) and out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    for c in range(3):
        expected = (hwc[..., c].astype(np.float32) / np.float32(255) - np.float32(mean[c])) / np.float32(std[c])
        np.testing.assert_array_equal(out[:, c], expected)
    gray = normalize_images(hwc[..., 0], (0.5,), (0.25,))
    assert gray.shape == (4, 1, 5, 6)
    with pytest.raises(ValueError, match="3 channel"):
        normalize_images(hwc, (0.5,), (0.25,))
    with pytest.raises(ValueError, match="uint8"):
        normalize_images(hwc.astype(np.float32), mean, std)


def test_epoch_order_is_deterministic_and_distinct_per_epoch():
    first = epoch_order(1000, epoch=0, seed=7, shuffle=True)
    assert first.dtype == np.int64 and sorted(first.tolist()) == list(range(1000))
    np.testing.assert_array_equal(first, epoch_order(1000, epoch=0, seed=7, shuffle=True))
    np.testing.assert_array_equal(first, np.random.default_rng([7, 0]).permutation(1000))
    assert not np.array_equal(first, epoch_order(1000, epoch=1, seed=7, shuffle=True))
    assert not np.array_equal(first, epoch_order(1000, epoch=0, seed=8, shuffle=True))
    np.testing.assert_array_equal(epoch_order(5, epoch=3, seed=1, shuffle=False), np.arange(5))


def test_batch_indices():
    order = epoch_order(10, epoch=0, seed=0, shuffle=True)
    batches = list(batch_indices(order, 4))
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), order)
    assert [len(b) for b in batch_indices(order, 4, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="batch_size"):
        batch_indices(order, 0)


@pytest.mark.parametrize("train", [True, False])
def test_real_mnist(train):
    root = real_data_root()
    dataset = MNIST(root, train=train)
    prefix = "train" if train else "t10k"
    n = 60000 if train else 10000
    assert dataset.images.shape == (n, 28, 28) and dataset.labels.shape == (n,)
    counts = TRAIN_LABEL_COUNTS if train else TEST_LABEL_COUNTS
    assert np.bincount(dataset.labels, minlength=10).tolist() == counts
    # Rebuild each file's uncompressed bytes from what we parsed: equal md5 means nothing was lost.
    image_file = idx_bytes(2051, dataset.images.shape, dataset.images.tobytes())
    label_file = idx_bytes(2049, dataset.labels.shape, dataset.labels.tobytes())
    assert hashlib.md5(image_file).hexdigest() == MNIST_MD5[f"{prefix}-images-idx3-ubyte"]
    assert hashlib.md5(label_file).hexdigest() == MNIST_MD5[f"{prefix}-labels-idx1-ubyte"]
