# dl.data.DataLoader on the real MNIST files ($DLCORE_DATA): batch shapes and dtypes, images equal
# to normalize_images (the reader shared with the PyTorch baseline), seeded shuffling that repeats
# per (seed, epoch) and changes between epochs, drop_last and limit.
import functools

import numpy as np
import pytest

import dlcore as dl
from dlcore.data import DataLoader, normalize_images
from dlcore.data.sampler import epoch_order


@functools.lru_cache(maxsize=2)
def mnist(root: str, train: bool) -> dl.data.MNIST:
    return dl.data.MNIST(root, train=train)


@pytest.fixture
def test_set(data_dir):
    return mnist(str(data_dir), False)


def expected_batch(dataset, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return normalize_images(dataset.images[index], dataset.mean, dataset.std), dataset.labels[index].astype(np.int64)


def test_batches_have_shapes_dtypes_and_the_normalised_pixels(test_set, device):
    loader = DataLoader(test_set, batch_size=128, device=device)
    assert len(test_set) == 10000 and len(loader) == 79  # 78 full batches and one of 16
    batches = list(loader)
    assert len(batches) == 79
    for number, (images, labels) in enumerate(batches):
        size = 16 if number == 78 else 128
        assert images.shape == (size, 1, 28, 28) and images.dtype == dl.float32 and images.device.type == device
        assert labels.shape == (size,) and labels.dtype == dl.int64 and labels.device.type == device
    for number in (0, 41, 78):  # the same bytes as the numpy path the PyTorch baseline uses
        want_images, want_labels = expected_batch(test_set, np.arange(number * 128, min((number + 1) * 128, 10000)))
        images, labels = batches[number]
        np.testing.assert_allclose(images.cpu().numpy(), want_images, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(labels.cpu().numpy(), want_labels)


def test_normalised_statistics_are_those_of_mnist(test_set):
    images, _ = next(iter(DataLoader(test_set, batch_size=10000)))
    pixels = images.numpy()
    # mean/std 0.1307/0.3081 are the training set's; the test set lands within 0.01 of (0, 1)
    assert abs(pixels.mean()) < 0.01 and abs(pixels.std() - 1.0) < 0.01
    assert pixels.min() == pytest.approx(-0.1307 / 0.3081, rel=1e-5)


def test_seeded_shuffle_repeats_per_epoch_and_changes_between_epochs(test_set, device):
    first = DataLoader(test_set, batch_size=500, shuffle=True, seed=3, device=device)
    second = DataLoader(test_set, batch_size=500, shuffle=True, seed=3, device=device)
    epoch0 = [labels.cpu().numpy() for _, labels in first]
    epoch1 = [labels.cpu().numpy() for _, labels in first]  # iterating again advances the epoch
    np.testing.assert_array_equal(np.concatenate(epoch0), np.concatenate([y.cpu().numpy() for _, y in second]))
    assert not np.array_equal(np.concatenate(epoch0), np.concatenate(epoch1))
    # each epoch is a permutation: every sample once, following epoch_order(n, epoch, seed)
    order = epoch_order(10000, 1, 3, True)
    np.testing.assert_array_equal(np.concatenate(epoch1), test_set.labels[order])
    assert sorted(order.tolist()) == list(range(10000))
    other_seed = DataLoader(test_set, batch_size=500, shuffle=True, seed=4)
    assert not np.array_equal(np.concatenate([y.numpy() for _, y in other_seed]), np.concatenate(epoch0))


def test_shuffled_images_stay_with_their_labels(test_set):
    loader = DataLoader(test_set, batch_size=256, shuffle=True, seed=11)
    loader.set_epoch(5)
    images, labels = next(iter(loader))
    index = epoch_order(10000, 5, 11, True)[:256]
    want_images, want_labels = expected_batch(test_set, index)
    np.testing.assert_allclose(images.numpy(), want_images, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(labels.numpy(), want_labels)


def test_set_epoch_resumes_the_same_order(test_set):
    straight = DataLoader(test_set, batch_size=1000, shuffle=True, seed=1)
    for _ in range(2):
        list(straight)
    third_epoch = np.concatenate([y.numpy() for _, y in straight])
    resumed = DataLoader(test_set, batch_size=1000, shuffle=True, seed=1)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in resumed]), third_epoch)


def test_drop_last_and_limit(test_set):
    limited = DataLoader(test_set, batch_size=64, limit=1000)
    assert limited.num_samples == 1000 and len(limited) == 16
    labels = np.concatenate([y.numpy() for _, y in limited])
    np.testing.assert_array_equal(labels, test_set.labels[:1000])
    dropped = DataLoader(test_set, batch_size=64, limit=1000, drop_last=True)
    assert len(dropped) == 15 and all(x.shape[0] == 64 for x, _ in dropped)
    shuffled = DataLoader(test_set, batch_size=100, limit=300, shuffle=True, seed=0)
    seen = np.concatenate([y.numpy() for _, y in shuffled])
    np.testing.assert_array_equal(np.sort(seen), np.sort(test_set.labels[:300]))  # only the first 300 samples
    assert DataLoader(test_set, batch_size=64, limit=10**9).num_samples == 10000


def test_training_split_loads_and_batches(data_dir):
    train = mnist(str(data_dir), True)
    assert len(train) == 60000
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=0, limit=5000)
    images, labels = next(iter(loader))
    assert images.shape == (64, 1, 28, 28) and 0 <= labels.numpy().min() and labels.numpy().max() <= 9


def test_empty_limit_is_rejected(test_set):
    with pytest.raises(ValueError, match=r"DataLoader: the dataset is empty \(len 10000, limit 0\)"):
        DataLoader(test_set, limit=0)
