# dlcore.utils.data against torch.utils.data: datasets, random_split, samplers, default_collate and
# the DataLoader's arguments, lengths and batch structure; worker processes (order, errors with the
# worker's traceback, abandoned iterators, timeouts, persistent workers, seeds); seeded shuffling
# with dl.manual_seed and dl.Generator; and the DataLoader over the real MNIST files.
from __future__ import annotations

import collections
import gc
import os
import pickle
import time

import numpy as np
import pytest

import dlcore as dl
from dlcore.utils import data as dud

torch = pytest.importorskip("torch")
tud = torch.utils.data

Point = collections.namedtuple("Point", "x y")


def as_numpy(value):
    """A dlcore or torch tensor as numpy (anything else unchanged)."""
    if isinstance(value, (dl.Tensor, torch.Tensor)):
        return value.detach().cpu().numpy()
    return value


def same_structure(ours, theirs) -> None:
    """ours (dlcore) and theirs (torch) are the same nesting of containers, with tensors of the same
    dtype, shape and values and other leaves equal."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dl.Tensor), f"expected a dlcore tensor, got {type(ours)}"
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(as_numpy(ours), as_numpy(theirs))
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for key in theirs:
            same_structure(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (type(ours), type(theirs))
        for a, b in zip(ours, theirs):
            same_structure(a, b)
    else:
        assert ours == theirs


def raises_like_torch(ours, theirs) -> None:
    """Both callables raise the same exception type, and our message starts with torch's (it may
    go on to name the offending values)."""
    with pytest.raises(Exception) as torch_error:
        theirs()
    with pytest.raises(type(torch_error.value)) as our_error:
        ours()
    assert str(our_error.value).startswith(str(torch_error.value))


class Numbers(dud.Dataset):
    """Sample i is (float32 [3] filled with i, int i); optional per-item delay and failure."""

    def __init__(self, n: int, delay=None, fail_at=None, exit_at=None):
        self.n, self.delay, self.fail_at, self.exit_at = n, delay, fail_at, exit_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay is not None:
            time.sleep(self.delay(i))
        if i == self.fail_at:
            raise ValueError(f"sample {i} is broken")
        if i == self.exit_at:
            os._exit(3)
        return np.full(3, i, np.float32), i


class TorchNumbers(tud.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i, np.float32), i


def labels_of(loader) -> list:
    return [int(v) for _, labels in loader for v in labels.tolist()]


# ----- datasets ---------------------------------------------------------------------------------

def test_tensor_dataset_and_its_errors():
    x, y = dl.randn([5, 2]), dl.arange(5)
    ds = dud.TensorDataset(x, y)
    assert len(ds) == 5
    a, b = ds[3]
    np.testing.assert_array_equal(a.numpy(), x.numpy()[3])
    assert float(b) == 3.0
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        dud.TensorDataset(dl.zeros([3]), dl.zeros([4]))
    with pytest.raises(TypeError, match="TensorDataset: argument 1 must be a dlcore Tensor"):
        dud.TensorDataset(dl.zeros([3]), np.zeros(3))


def test_concat_subset_stack_and_chain_datasets_follow_torch():
    ours = dud.ConcatDataset([range(3), range(10, 14)])
    theirs = tud.ConcatDataset([range(3), range(10, 14)])
    assert len(ours) == len(theirs) == 7 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-7, 7)] == [theirs[i] for i in range(-7, 7)]
    assert ours.__getitems__([6, 0, 4, 2]) == [theirs[i] for i in (6, 0, 4, 2)]
    raises_like_torch(lambda: ours[-8], lambda: theirs[-8])
    raises_like_torch(lambda: dud.ConcatDataset([]), lambda: tud.ConcatDataset([]))
    joined = Numbers(2) + Numbers(3)
    assert isinstance(joined, dud.ConcatDataset) and len(joined) == 5 and joined[4][1] == 2

    subset = dud.Subset(range(10, 20), [4, 1, 7])
    assert len(subset) == 3 and [subset[i] for i in range(3)] == [14, 11, 17]
    assert subset.__getitems__([2, 0]) == [17, 14]

    assert dud.StackDataset(a=range(3), b=range(10, 13))[1] == {"a": 1, "b": 11}
    assert dud.StackDataset(range(3), range(10, 13)).__getitems__([2, 0]) == [(2, 12), (0, 10)]
    raises_like_torch(lambda: dud.StackDataset(range(3), range(4)), lambda: tud.StackDataset(range(3), range(4)))

    class Stream(dud.IterableDataset):
        def __init__(self, values):
            self.values = values

        def __iter__(self):
            return iter(self.values)

        def __len__(self):
            return len(self.values)

    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, dud.ChainDataset) and list(chained) == [1, 2, 3] and len(chained) == 3


@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.25] * 4),
                                        (10, [0.1] * 10), (5, [5, 0]), (3, [0.9, 0.1])])
def test_random_split_sizes_match_torch_and_partition_the_dataset(n, lengths):
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0") if n == 3 else _no_warning():
        ours = dud.random_split(range(n), lengths, generator=dl.Generator().manual_seed(0))
        theirs = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
        again = dud.random_split(range(n), lengths, generator=dl.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(v for s in ours for v in (s[i] for i in range(len(s)))) == list(range(n))
    assert [s.indices for s in again] == [s.indices for s in ours]


class _no_warning:
    """A context in which a warning is an error."""

    def __enter__(self):
        import warnings
        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("error")
        return self

    def __exit__(self, *exc):
        return self._catcher.__exit__(*exc)


@pytest.mark.parametrize("lengths", [[3, 4], [0.5, 0.6], [1.5, -0.5]])
def test_random_split_errors_match_torch(lengths):
    raises_like_torch(lambda: dud.random_split(range(10), lengths), lambda: tud.random_split(range(10), lengths))


def test_random_split_follows_the_global_seed_without_a_generator():
    dl.manual_seed(5)
    first = [s.indices for s in dud.random_split(range(50), [0.2, 0.8])]
    dl.manual_seed(5)
    assert [s.indices for s in dud.random_split(range(50), [0.2, 0.8])] == first
    dl.manual_seed(6)
    assert [s.indices for s in dud.random_split(range(50), [0.2, 0.8])] != first
    with pytest.raises(TypeError, match="generator must be a dlcore.Generator or None, got torch._C.Generator"):
        dud.random_split(range(4), [2, 2], generator=torch.Generator())


# ----- samplers ---------------------------------------------------------------------------------

def test_sequential_random_and_subset_samplers():
    assert list(dud.SequentialSampler(range(5))) == list(tud.SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    order = list(dud.RandomSampler(range(20)))
    assert sorted(order) == list(range(20)) and all(type(i) is int for i in order)
    for kwargs in [dict(num_samples=45), dict(num_samples=7), dict(replacement=True, num_samples=100)]:
        ours, theirs = dud.RandomSampler(range(20), **kwargs), tud.RandomSampler(range(20), **kwargs)
        drawn = list(ours)
        assert len(ours) == len(theirs) == len(drawn) == kwargs["num_samples"]
        assert all(0 <= i < 20 for i in drawn)
        if not kwargs.get("replacement"):  # each full pass is a permutation, the rest has no repeats
            counts = np.bincount(drawn, minlength=20)
            assert counts.max() - counts.min() <= 1
    subset = list(dud.SubsetRandomSampler([3, 9, 27, 81]))
    assert sorted(subset) == [3, 9, 27, 81] and len(dud.SubsetRandomSampler([3, 9])) == 2
    for kwargs in [dict(replacement=1), dict(num_samples=0), dict(num_samples=-2)]:
        raises_like_torch(lambda: dud.RandomSampler(range(3), **kwargs), lambda: tud.RandomSampler(range(3), **kwargs))
    assert len(dud.RandomSampler(range(3), num_samples=True)) == len(tud.RandomSampler(range(3), num_samples=True))
    raises_like_torch(lambda: dud.RandomSampler([]), lambda: tud.RandomSampler([]))


def test_weighted_random_sampler():
    weights = [0.0, 1.0, 3.0, 0.0, 2.0]
    drawn = list(dud.WeightedRandomSampler(weights, 3000, generator=dl.Generator().manual_seed(1)))
    counts = np.bincount(drawn, minlength=5)
    assert counts[0] == counts[3] == 0 and len(drawn) == 3000
    np.testing.assert_allclose(counts[[1, 2, 4]] / 3000, [1 / 6, 3 / 6, 2 / 6], atol=0.04)  # ~5 sigma
    unique = list(dud.WeightedRandomSampler(weights, 3, replacement=False))
    assert sorted(unique) == [1, 2, 4]
    assert len(dud.WeightedRandomSampler(dl.tensor([1.0, 2.0]), 7)) == 7
    for args in [([[1.0, 2.0]], 2), ([1.0], 0), ([1.0], 2, 1)]:
        raises_like_torch(lambda: dud.WeightedRandomSampler(*args), lambda: tud.WeightedRandomSampler(*args))
    with pytest.raises(RuntimeError, match="invalid multinomial distribution"):
        list(dud.WeightedRandomSampler([1.0, -1.0], 2))
    with pytest.raises(RuntimeError, match="cannot draw 4 samples without replacement from 3 non-zero weights"):
        list(dud.WeightedRandomSampler(weights, 4, replacement=False))


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                                      (2, 5, True), (0, 2, False)])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    ours = dud.BatchSampler(dud.SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(dud.BatchSampler([5, 3, 1], 2, drop_last)) == list(tud.BatchSampler([5, 3, 1], 2, drop_last))


def test_batch_sampler_errors_match_torch():
    for args in [(range(3), 0, False), (range(3), True, False), (range(3), 2, 1), (range(3), 2.0, False)]:
        raises_like_torch(lambda: dud.BatchSampler(*args), lambda: tud.BatchSampler(*args))


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (11, 4, False), (2, 4, False),
                                                    (12, 4, True), (1, 3, True)])
def test_distributed_sampler_matches_torch_without_shuffle(n, replicas, drop_last):
    for rank in range(replicas):
        ours = dud.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = tud.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs) and ours.total_size == theirs.total_size


def test_distributed_sampler_shuffles_per_epoch_and_covers_the_dataset():
    def shards(epoch, seed=0):
        samplers = [dud.DistributedSampler(range(23), 4, rank, seed=seed) for rank in range(4)]
        for sampler in samplers:
            sampler.set_epoch(epoch)
        return [list(s) for s in samplers]

    first = shards(0)
    assert sorted(set(i for shard in first for i in shard)) == list(range(23))
    assert all(len(shard) == 6 for shard in first)  # 23 padded to 24
    assert shards(0) == first and shards(1) != first and shards(0, seed=1) != first
    raises_like_torch(lambda: dud.DistributedSampler(range(5), num_replicas=2, rank=2),
                      lambda: tud.DistributedSampler(range(5), num_replicas=2, rank=2))
    assert dud.DistributedSampler(range(5)).num_replicas == int(os.environ.get("WORLD_SIZE", "1"))


def test_generator_seeding_and_state():
    g = dl.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed() and str(g.device) == "cpu"
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    assert dl.Generator().manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    sampler = dud.RandomSampler(range(100), generator=g)
    state = g.get_state()
    assert state.dtype == dl.uint8
    first, second = list(sampler), list(sampler)
    assert first != second  # the generator advances
    g.set_state(state)
    assert list(sampler) == first
    assert list(dud.RandomSampler(range(100), generator=dl.Generator().manual_seed(7))) == first
    seed = g.seed()
    assert isinstance(seed, int) and g.initial_seed() == seed
    with pytest.raises(TypeError, match="expected a dlcore uint8 tensor"):
        g.set_state("x")
    with pytest.raises(RuntimeError, match="Expected a dlcore.Generator state of 64 bytes"):
        g.set_state(dl.zeros([3]).to(dl.uint8))
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        g.manual_seed(1.5)
    with pytest.raises(RuntimeError, match="only device='cpu' is supported"):
        dl.Generator("cuda")
    assert pickle.loads(pickle.dumps(dl.Generator().manual_seed(3))).initial_seed() == 3


# ----- default_collate --------------------------------------------------------------------------

COLLATE_CASES = {
    "numpy float64 arrays": lambda: [np.arange(6.0).reshape(2, 3), np.ones((2, 3))],
    "numpy float32/int32/bool/uint8": lambda: [(np.float32([1.5]), np.int32([2]), np.array([True]), np.uint8([3]))] * 2,
    "numpy scalars": lambda: [(np.float64(1.5), np.float32(2.0), np.int64(3), np.bool_(True))] * 3,
    "0-d arrays": lambda: [np.array(1.5), np.array(2.5)],
    "python numbers": lambda: [(1.5, 2, True), (2.5, 3, False)],
    "strings and bytes": lambda: [("a", b"x"), ("b", b"y")],
    "dict": lambda: [{"image": np.zeros((2, 2), np.float32), "label": 1, "name": "a"},
                     {"image": np.ones((2, 2), np.float32), "label": 0, "name": "b"}],
    "namedtuple": lambda: [Point(1, 2.0), Point(3, 4.0)],
    "lists": lambda: [[1, 2], [3, 4]],
    "nested": lambda: [{"pair": (np.float32([1]), [1.0, {"deep": 2}])}, {"pair": (np.float32([2]), [3.0, {"deep": 4}])}],
    "ranges": lambda: [range(2), range(2)],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    batch = COLLATE_CASES[case]()
    same_structure(dud.default_collate(batch), tud.default_collate(batch))


def test_default_collate_stacks_tensors_and_keeps_their_dtype():
    for dtype in (dl.float32, dl.float64, dl.int64, dl.int32, dl.uint8, dl.bool):
        batch = [dl.ones([2, 3]).to(dtype), dl.zeros([2, 3]).to(dtype)]
        out = dud.default_collate(batch)
        assert out.dtype == dtype and out.shape == (2, 2, 3)
        np.testing.assert_array_equal(out.numpy(), np.stack([t.numpy() for t in batch]))


@pytest.mark.parametrize("batch", [[object()], [np.array(["a"])], [[1, 2], [3]], [None]])
def test_default_collate_errors_match_torch(batch):
    raises_like_torch(lambda: dud.default_collate(batch), lambda: tud.default_collate(batch))


def test_default_collate_refuses_unequal_shapes_like_torch():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got \[2\] at entry 0 "
                                           r"and \[3\] at entry 1"):
        dud.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        dud.default_collate([dl.zeros([2]), dl.zeros([3])])


def test_default_convert_matches_torch():
    for data in [np.zeros(2), [np.zeros(1, np.float32), "x", {"a": np.int64(3)}], (np.float32(2),), 3,
                 Point(np.zeros(1), 1), np.array(["s"])]:
        ours, theirs = dud.default_convert(data), tud.default_convert(data)
        if isinstance(theirs, np.ndarray):
            assert isinstance(ours, np.ndarray)
        else:
            same_structure(ours, theirs)


# ----- DataLoader: arguments and batches --------------------------------------------------------

BAD_LOADER_ARGUMENTS = [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2), dict(persistent_workers=True),
                        dict(shuffle=True, sampler=[0, 1]), dict(batch_sampler=[[0]], batch_size=2),
                        dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=None, drop_last=True),
                        dict(num_workers=1, prefetch_factor=-1), dict(batch_size=0)]


@pytest.mark.parametrize("kwargs", BAD_LOADER_ARGUMENTS, ids=lambda k: ",".join(k))
def test_loader_argument_errors_match_torch(kwargs):
    raises_like_torch(lambda: dud.DataLoader(Numbers(4), **kwargs), lambda: tud.DataLoader(TorchNumbers(4), **kwargs))


def test_iterable_dataset_argument_errors_match_torch():
    class Ours(dud.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    class Theirs(tud.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    for kwargs in [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])]:
        with pytest.raises(ValueError) as theirs:
            tud.DataLoader(Theirs(), **kwargs)
        with pytest.raises(ValueError) as ours:
            dud.DataLoader(Ours(), **kwargs)
        assert str(ours.value).split(",")[0] == str(theirs.value).split(",")[0]


def test_loader_attributes_are_frozen_like_torch():
    loader = dud.DataLoader(Numbers(4))
    for name in ("batch_size", "sampler", "drop_last", "dataset"):
        raises_like_torch(lambda: setattr(loader, name, 3), lambda: setattr(tud.DataLoader(TorchNumbers(4)), name, 3))
    loader.num_workers = 0  # the others may change, as in torch


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (4, False), (4, True), (10, False), (11, True)])
def test_sequential_batches_match_torch(batch_size, drop_last):
    ours = dud.DataLoader(Numbers(10), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(TorchNumbers(10), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours_batches, theirs_batches = list(ours), list(theirs)
    assert len(ours_batches) == len(theirs_batches)
    for a, b in zip(ours_batches, theirs_batches):
        same_structure(a, b)


def test_unbatched_samplers_and_batch_samplers_match_torch():
    pairs = [(dict(batch_size=None), dict(batch_size=None)),
             (dict(batch_size=3, sampler=[9, 2, 4, 4, 0]), dict(batch_size=3, sampler=[9, 2, 4, 4, 0])),
             (dict(batch_sampler=[[1, 2], [7], [0, 5, 3]]), dict(batch_sampler=[[1, 2], [7], [0, 5, 3]])),
             (dict(batch_size=2, collate_fn=lambda b: [s[1] for s in b]),
              dict(batch_size=2, collate_fn=lambda b: [s[1] for s in b]))]
    for ours_kwargs, theirs_kwargs in pairs:
        ours, theirs = dud.DataLoader(Numbers(10), **ours_kwargs), tud.DataLoader(TorchNumbers(10), **theirs_kwargs)
        assert len(ours) == len(theirs)
        for a, b in zip(list(ours), list(theirs)):
            same_structure(a, b)


def test_tensor_dataset_batches_match_per_sample_collation():
    x = dl.randn([10, 2, 3])
    y = dl.tensor(list(range(10)))
    fast = list(dud.DataLoader(dud.TensorDataset(x, y), batch_size=4, shuffle=True,
                               generator=dl.Generator().manual_seed(3)))
    slow = list(dud.DataLoader(dud.TensorDataset(x, y), batch_size=4, shuffle=True,
                               generator=dl.Generator().manual_seed(3), collate_fn=lambda b: dud.default_collate(b)))
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
    assert sorted(v for _, labels in fast for v in labels.tolist()) == list(range(10))


class Shards(dud.IterableDataset):
    """0..n-1, split between workers as torch's documentation shows."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = dud.get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterable_dataset_batches(num_workers):
    loader = dud.DataLoader(Shards(10), batch_size=4, num_workers=num_workers)
    values = sorted(v for batch in loader for v in batch.tolist())
    assert values == list(range(10)) and len(loader) == 3
    dropped = dud.DataLoader(Shards(10), batch_size=4, drop_last=True, num_workers=num_workers)
    sizes = [len(batch.tolist()) for batch in dropped]
    assert all(size == 4 for size in sizes) and len(dropped) == 2
    # without workers the stream is batched in order, as torch does it
    if num_workers == 0:
        assert [b.tolist() for b in loader] == [b.tolist() for b in tud.DataLoader(list(range(10)), batch_size=4)]


def test_seeded_shuffle_is_reproducible_and_changes_between_epochs():
    dataset = Numbers(50)
    dl.manual_seed(11)
    loader = dud.DataLoader(dataset, batch_size=8, shuffle=True)
    epoch1, epoch2 = labels_of(loader), labels_of(loader)
    assert sorted(epoch1) == list(range(50)) and epoch1 != epoch2
    dl.manual_seed(11)
    assert labels_of(dud.DataLoader(dataset, batch_size=8, shuffle=True)) == epoch1
    dl.manual_seed(12)
    assert labels_of(dud.DataLoader(dataset, batch_size=8, shuffle=True)) != epoch1
    with_generator = [labels_of(dud.DataLoader(dataset, batch_size=8, shuffle=True,
                                               generator=dl.Generator().manual_seed(4))) for _ in range(2)]
    assert with_generator[0] == with_generator[1] and with_generator[0] != epoch1


# ----- worker processes -------------------------------------------------------------------------

def test_workers_return_the_same_batches_in_order():
    # Random per-item delays make the workers finish out of order; the loader restores the order.
    slow = Numbers(40, delay=lambda i: 0.004 * ((i * 7919) % 5))
    reference = list(dud.DataLoader(Numbers(40), batch_size=3))
    for batches in (list(dud.DataLoader(slow, batch_size=3, num_workers=3)),
                    list(dud.DataLoader(slow, batch_size=3, num_workers=2, prefetch_factor=1))):
        assert len(batches) == len(reference) == 14
        for (x, y), (rx, ry) in zip(batches, reference):
            np.testing.assert_array_equal(x.numpy(), rx.numpy())
            assert y.tolist() == ry.tolist() and y.dtype == dl.int64 and x.dtype == dl.float32
    unordered = dud.DataLoader(slow, batch_size=3, num_workers=3, in_order=False)
    assert sorted(labels_of(unordered)) == list(range(40))


def test_worker_exception_carries_the_worker_traceback():
    loader = dud.DataLoader(Numbers(20, fail_at=13), batch_size=3, num_workers=2)
    seen = []
    with pytest.raises(ValueError) as error:
        for _, labels in loader:
            seen.append(labels.tolist())
    text = str(error.value)
    assert "Caught ValueError in DataLoader worker process 0" in text  # batch [12, 13, 14] is task 4: worker 0
    assert "Traceback (most recent call last)" in text and "in __getitem__" in text
    assert "ValueError: sample 13 is broken" in text
    assert seen == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


def test_exception_types_that_cannot_travel_become_runtime_errors():
    class LocalError(Exception):
        pass

    class Failing(dud.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            raise LocalError("local")

    with pytest.raises(RuntimeError, match="Caught LocalError in DataLoader worker process 0"):
        next(iter(dud.DataLoader(Failing(), num_workers=1)))


def _wait_until_stopped(processes, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(p.is_alive() for p in processes):
            return True
        time.sleep(0.05)
    return False


def test_abandoned_iterators_shut_their_workers_down():
    # Large batches fill the pipes, so the workers are blocked writing when the iterator goes away,
    # and a second loader's worker, forked meanwhile, inherited the main process's pipe ends.
    class Big(dud.Dataset):
        def __len__(self):
            return 400

        def __getitem__(self, i):
            return np.full((64, 64), i, np.float32)

    iterator = iter(dud.DataLoader(Big(), batch_size=16, num_workers=2, prefetch_factor=4))
    other = iter(dud.DataLoader(Big(), batch_size=16, num_workers=1))
    first = next(iterator)
    assert first.shape == (16, 64, 64) and next(other).shape == (16, 64, 64)
    processes = list(iterator._workers)
    time.sleep(0.2)  # let the workers fill their pipes and block
    assert all(p.is_alive() for p in processes)
    del iterator
    gc.collect()
    assert _wait_until_stopped(processes)
    assert [p.exitcode for p in processes] == [0, 0]  # they left on their own, not by SIGTERM
    del other

    for batch in dud.DataLoader(Big(), batch_size=16, num_workers=2):
        break  # a for loop left early drops the iterator the same way
    del batch
    gc.collect()
    assert not [p for p in __import__("multiprocessing").active_children() if p.name.startswith("dlcore-dataloader")]


def test_a_finished_epoch_stops_its_workers():
    iterator = iter(dud.DataLoader(Numbers(6), batch_size=2, num_workers=2))
    processes = list(iterator._workers)
    assert len(list(iterator)) == 3
    assert _wait_until_stopped(processes)


def test_timeout_raises_runtime_error_like_torch():
    iterator = iter(dud.DataLoader(Numbers(4, delay=lambda i: 1.2), num_workers=1, timeout=0.3))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.3 seconds") as error:
        try:
            next(iterator)
        finally:
            elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.0, elapsed  # not the 1.2 s the sample takes
    del iterator, error


def test_a_dead_worker_is_reported():
    loader = dud.DataLoader(Numbers(8, exit_at=2), batch_size=1, num_workers=1)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+ \(exit code 3\)\) exited unexpectedly"):
        list(loader)


class WhoAmI(dud.Dataset):
    """Sample i is (i, worker id, worker pid, a draw from dlcore's global generator in the worker)."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = dud.get_worker_info()
        return i, info.id, os.getpid(), float(dl.rand([1]).item()), info.seed


def test_worker_info_seeds_and_init_fn():
    assert dud.get_worker_info() is None
    calls = []

    def init(worker_id):
        info = dud.get_worker_info()
        assert info.id == worker_id and info.num_workers == 2 and isinstance(info.dataset, WhoAmI)
        with pytest.raises(RuntimeError, match="Cannot assign attributes to WorkerInfo objects"):
            info.id = 5
        calls.append(worker_id)  # runs in the worker: the list here stays empty

    def run(seed):
        dl.manual_seed(seed)
        batches = list(dud.DataLoader(WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=init))
        return [sum((batch[field].tolist() for batch in batches), []) for field in range(5)]

    first = run(1)
    samples, workers, pids, draws, seeds = first
    assert samples == list(range(12)) and workers == [0, 0, 1, 1] * 3 and calls == []
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert seeds[2] == seeds[0] + 1  # worker seed = base seed + worker id, as in torch
    assert workers == [0, 0, 1, 1] * 3
    assert draws[0] != draws[2]  # workers are seeded apart
    assert run(1)[3] == draws and run(2)[3] != draws  # and reproducibly from dl.manual_seed


def test_persistent_workers_survive_epochs_and_abandoned_epochs():
    loader = dud.DataLoader(WhoAmI(), batch_size=2, num_workers=2, persistent_workers=True, shuffle=True,
                            generator=dl.Generator().manual_seed(0))
    first_epoch = [s.tolist() for b in loader for s in b[:1]]
    pids = {pid for b in loader for pid in b[2].tolist()}
    assert sorted(v for batch in first_epoch for v in batch) == list(range(12))
    iterator = iter(loader)
    next(iterator)  # abandon this epoch midway: the next one must start cleanly
    again = [b for b in loader]
    assert sorted(v for b in again for v in b[0].tolist()) == list(range(12))
    assert {pid for b in again for pid in b[2].tolist()} == pids
    processes = list(loader._iterator._workers)
    assert all(p.is_alive() for p in processes)
    del loader, iterator
    gc.collect()
    assert _wait_until_stopped(processes)


def test_persistent_iterable_workers_restart_their_streams():
    loader = dud.DataLoader(Shards(7), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        assert sorted(v for batch in loader for v in batch.tolist()) == list(range(7))


def test_tensors_of_every_dtype_cross_from_workers():
    class Typed(dud.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"f64": np.full(2, i, np.float64), "i32": np.int32(i), "flag": i % 2 == 0,
                    "bf16": dl.full([2], i + 0.5).to(dl.bfloat16), "u8": dl.full([3], i).to(dl.uint8),
                    "name": f"s{i}"}

    for batch in dud.DataLoader(Typed(), batch_size=2, num_workers=2):
        reference = dud.default_collate([Typed()[i] for i in batch["i32"].tolist()])
        for key, value in batch.items():
            if isinstance(value, dl.Tensor):
                assert value.dtype == reference[key].dtype and value.shape == reference[key].shape, key
                np.testing.assert_array_equal(value.float().numpy() if key == "bf16" else value.detach().numpy(),
                                              reference[key].float().numpy() if key == "bf16"
                                              else reference[key].detach().numpy())
            else:
                assert value == reference[key]


def test_spawned_workers_get_a_pickled_dataset():
    x = dl.arange(10).reshape([5, 2])
    loader = dud.DataLoader(dud.TensorDataset(x), batch_size=2, num_workers=1, multiprocessing_context="spawn")
    batches = [b[0].numpy() for b in loader]
    np.testing.assert_array_equal(np.concatenate(batches), x.numpy())


# ----- the real MNIST files ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_test(request):
    root = os.environ.get("DLCORE_DATA", "")
    if not root or not os.path.isdir(os.path.join(root, "MNIST", "raw")):
        if os.environ.get("DLCORE_REQUIRE_DATA") == "1":
            pytest.fail(f"MNIST not found under DLCORE_DATA={root!r} but DLCORE_REQUIRE_DATA=1")
        pytest.skip(f"MNIST not found under DLCORE_DATA={root!r}")
    return dl.data.MNIST(root, train=False)


def test_mnist_through_the_loader_is_totensor_output(mnist_test):
    loader = dud.DataLoader(mnist_test, batch_size=1000)
    assert len(loader) == 10
    images, labels = next(iter(loader))
    assert images.shape == (1000, 1, 28, 28) and images.dtype == dl.float32 and labels.dtype == dl.int64
    np.testing.assert_array_equal(images.numpy()[:, 0], mnist_test.images[:1000].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(labels.numpy(), mnist_test.labels[:1000])
    image, label = mnist_test[7]
    assert image.shape == (1, 28, 28) and isinstance(label, int)


def test_mnist_fast_path_equals_per_sample_transforms(mnist_test):
    from dlcore.vision import transforms as T
    normalize = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    dataset = dl.data.MNIST(mnist_test.root, train=False, transform=normalize)
    assert dataset._getitems_collated is not None

    def loader(**kwargs):
        return dud.DataLoader(dud.Subset(dataset, range(0, 10000, 7)), batch_size=100, shuffle=True,
                              generator=dl.Generator().manual_seed(2), **kwargs)

    fast = list(loader())
    per_sample = list(loader(collate_fn=lambda batch: dud.default_collate(batch)))
    with_workers = list(loader(num_workers=2))
    assert len(fast) == len(per_sample) == len(with_workers) == 15
    for (fx, fy), (sx, sy), (wx, wy) in zip(fast, per_sample, with_workers):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())  # bit-identical: the same float32 arithmetic
        np.testing.assert_array_equal(fx.numpy(), wx.numpy())
        assert fy.tolist() == sy.tolist() == wy.tolist()
    images, _ = next(iter(dud.DataLoader(dud.Subset(dataset, range(0, 10000, 7)), batch_size=100)))
    np.testing.assert_array_equal(  # the numbers of the reader the PyTorch baseline uses
        images.numpy(), dl.data.normalize_images(dataset.images[0:700:7], (0.1307,), (0.3081,)))


def test_mnist_split_and_target_transform(mnist_test):
    train, held_out = dud.random_split(mnist_test, [0.9, 0.1], generator=dl.Generator().manual_seed(0))
    assert (len(train), len(held_out)) == (9000, 1000)
    labels = labels_of(dud.DataLoader(held_out, batch_size=256))
    np.testing.assert_array_equal(labels, mnist_test.labels[held_out.indices])
    odd = dl.data.MNIST(mnist_test.root, train=False, target_transform=lambda y: y % 2)
    assert odd._getitems_collated is None
    _, parity = next(iter(dud.DataLoader(odd, batch_size=50)))
    np.testing.assert_array_equal(parity.numpy(), mnist_test.labels[:50] % 2)


def test_image_dataset_batched_fetch_equals_per_sample_fetch(tmp_path):
    from test_data_mnist import random_split as random_mnist, write_split
    from dlcore.vision import transforms as T
    images, labels = random_mnist(30, seed=5)
    write_split(tmp_path, "train", images, labels, gz=False)
    dataset = dl.data.MNIST(tmp_path, transform=T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))]))
    indices = [29, -1, 0, 7, -30]
    batch_images, batch_labels = dataset._getitems_collated(indices)
    samples = dataset.__getitems__(indices)
    for position, index in enumerate(indices):
        image, label = dataset[index]
        np.testing.assert_array_equal(batch_images.numpy()[position], image.numpy())
        np.testing.assert_array_equal(samples[position][0].numpy(), image.numpy())
        assert batch_labels.tolist()[position] == label == samples[position][1] == int(labels[index])
    with pytest.raises(IndexError, match="MNIST: index 30 is out of range for 30 samples"):
        dataset._getitems_collated([1, 30])
    dataset.images = dataset.images[:10].copy()  # replacing the arrays (train_cifar10.py --limit does) rebuilds the copy
    dataset.labels = dataset.labels[:10].copy()
    assert dataset._getitems_collated(list(range(10)))[0].shape == (10, 1, 28, 28)
    with pytest.raises(IndexError):
        dataset._getitems_collated([10])


def test_cifar10_batches_through_the_loader(tmp_path):
    from test_data_cifar10 import write_batches
    from dlcore.vision import transforms as T
    write_batches(tmp_path / "cifar-10-batches-py", per_batch=6, seed=4)
    mean, std = dl.data.CIFAR10.mean, dl.data.CIFAR10.std
    dataset = dl.data.CIFAR10(tmp_path, train=False, transform=T.Compose([T.ToTensor(), T.Normalize(mean, std)]))
    fast = list(dud.DataLoader(dataset, batch_size=4))  # the channels-last gather kernel
    per_sample = list(dud.DataLoader(dataset, batch_size=4, collate_fn=lambda b: dud.default_collate(b)))
    assert [tuple(x.shape) for x, _ in fast] == [(4, 3, 32, 32), (2, 3, 32, 32)]
    for (fx, fy), (sx, sy) in zip(fast, per_sample):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        assert fy.tolist() == sy.tolist()
    np.testing.assert_array_equal(fast[0][0].numpy(), dl.data.normalize_images(dataset.images[:4], mean, std))
    assert dataset.targets == dataset.labels.astype(int).tolist() and dataset.data is dataset.images
