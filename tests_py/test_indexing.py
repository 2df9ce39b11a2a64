# Advanced indexing against PyTorch: x[key] for every form of key torch takes (integer index tensors
# and lists, int32 indices, bool masks and bool lists, several indices broadcast together, their
# placement, None/.../True/False and negative positions), x[key] = value and index_put_ (scalars,
# broadcast and cast values, accumulation of repeated positions), the mask ops, nonzero, gather,
# scatter, the index_* family, take and take_along_dim: values over every dtype, float64 gradients
# compared with torch.autograd, in-place ops on graph tensors, devices, and torch's error types.
from __future__ import annotations

import warnings

import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"]

# Gathers and scatters move values without arithmetic: forward results must be bit-identical.
# Gradients are sums of a few float64 upstream values (repeated positions): 1e-12.
GRAD_TOL = 1e-12


def random_array(shape, dtype="float64", seed=0):
    """Random data of a dtype, as a numpy array (float16/bfloat16 travel as float32)."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in ("int64", "int32", "uint8"):
        return rng.integers(0, 100, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype("float32" if dtype in ("float16", "bfloat16") else dtype)


def pair(values, dtype=None, device="cpu", requires_grad=False):
    """The same data as a dlcore and a torch tensor (torch on the CPU)."""
    reference = torch.tensor(values)
    tensor = dl.tensor(values, device=device)
    if dtype is not None:
        reference = reference.to(getattr(torch, dtype))
        tensor = tensor.to(getattr(dl, dtype))
    if requires_grad:
        reference.requires_grad_(True)
        tensor.requires_grad_(True)
    return tensor, reference


def to_dl(key, device="cpu"):
    """A torch subscript with its tensors turned into dlcore tensors on `device`."""
    if isinstance(key, torch.Tensor):
        return dl.tensor(key.numpy(), device=device)
    if isinstance(key, tuple):
        return tuple(to_dl(k, device) for k in key)
    return key


def numpy_of(t):
    """Values of a dlcore or torch tensor as numpy (16-bit floats as float32)."""
    t = t.detach().cpu()
    if str(t.dtype).endswith(("float16", "bfloat16")):
        t = t.float()
    return t.numpy()


def assert_same(actual, expected):
    assert tuple(actual.shape) == tuple(expected.shape), (actual.shape, expected.shape)
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_array_equal(numpy_of(actual), numpy_of(expected))


# Accumulating repeated positions on CUDA adds in the order the atomics land: a float result may
# differ from torch's CPU order by an ulp of the sum (16-bit floats round after every addition).
ACCUMULATE_RTOL = {"float64": 1e-13, "float32": 1e-6, "float16": 2e-3, "bfloat16": 1e-2}


def assert_accumulated(actual, expected, dtype):
    if dtype not in ACCUMULATE_RTOL:
        return assert_same(actual, expected)  # integers and bool combine exactly in any order
    assert tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_allclose(numpy_of(actual), numpy_of(expected), rtol=ACCUMULATE_RTOL[dtype], atol=ACCUMULATE_RTOL[dtype])


def check_forward_and_grad(fn, shape, device, seed=0):
    """fn(x, m) with m the framework (torch or dl): equal values, and equal float64 gradients of a
    random weighting of the output with respect to x."""
    x, tx = pair(random_array(shape, "float64", seed), device=device, requires_grad=True)
    out, tout = fn(x, dl), fn(tx, torch)
    assert_same(out, tout)
    weights = random_array(tuple(tout.shape), "float64", seed + 1)
    (out * dl.tensor(weights, device=device)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)


def mask_of(m, values):
    return m.tensor(np.array(values, dtype=bool))


# (id, fn(x, m), input shape): every form of key, on a (3, 4, 5) input unless stated.
GETITEM = [
    ("list-repeats", lambda x, m: x[[2, 0, 2]], (3, 4, 5)),
    ("tensor-negative", lambda x, m: x[m.tensor([-1, 0, -3])], (3, 4, 5)),
    ("int32-index", lambda x, m: x[:, m.tensor([3, 1, 3], dtype=m.int32)], (3, 4, 5)),
    ("2d-index", lambda x, m: x[m.tensor([[0, 1], [2, 2]])], (3, 4, 5)),
    ("nested-list-in-tuple", lambda x, m: x[([[0, 1], [1, 0]],)], (3, 4, 5)),
    ("numpy-index", lambda x, m: x[np.array([1, 0, 1])], (3, 4, 5)),
    ("adjacent-pair", lambda x, m: x[:, m.tensor([0, 3]), m.tensor([4, 0])], (3, 4, 5)),
    ("separated-pair-goes-first", lambda x, m: x[m.tensor([0, 2]), :, m.tensor([4, 0])], (3, 4, 5)),
    ("broadcast-pair", lambda x, m: x[m.tensor([[0], [2]]), m.tensor([[0, 1, 3]])], (3, 4, 5)),
    ("three-indices", lambda x, m: x[[0, 1], [1, 2], [3, 4]], (3, 4, 5)),
    ("int-then-index", lambda x, m: x[0, :, [0, 1]], (3, 4, 5)),
    ("index-int-index", lambda x, m: x[[0], 1, [0, 1]], (3, 4, 5)),
    ("index-slice-index", lambda x, m: x[[0, 2], 1:, [0, 1]], (3, 4, 5)),
    ("0d-tensor-as-int", lambda x, m: x[:, m.tensor(1), [0, 4]], (3, 4, 5)),
    ("ellipsis-index", lambda x, m: x[..., [0, 1]], (3, 4, 5)),
    ("index-ellipsis", lambda x, m: x[[2, 1], ...], (3, 4, 5)),
    ("none-index", lambda x, m: x[None, :, [1]], (3, 4, 5)),
    ("none-mask", lambda x, m: x[None, mask_of(m, [True, False, True])], (3, 4, 5)),
    ("mask-1d", lambda x, m: x[mask_of(m, [True, False, True])], (3, 4, 5)),
    ("mask-2d", lambda x, m: x[mask_of(m, [[True, False, True, True], [False, False, True, False], [True] * 4])], (3, 4, 5)),
    ("mask-full", lambda x, m: x[x > 0.3], (3, 4, 5)),
    ("mask-after-slice", lambda x, m: x[1:, mask_of(m, [True, False, False, True])], (3, 4, 5)),
    ("mask-and-index", lambda x, m: x[mask_of(m, [True, False, True]), :, m.tensor([1, 4])], (3, 4, 5)),
    ("mask-all-false", lambda x, m: x[:, mask_of(m, [False] * 4)], (3, 4, 5)),
    ("bool-list", lambda x, m: x[[True, False, True]], (3, 4, 5)),
    ("true", lambda x, m: x[True], (3, 4)),
    ("false", lambda x, m: x[False], (3, 4)),
    ("true-and-index", lambda x, m: x[True, [0, 2]], (3, 4)),
    ("0d-bool-tensor", lambda x, m: x[m.tensor(True)], (3, 4)),
    ("empty-index", lambda x, m: x[m.tensor([], dtype=m.int64)], (3, 4)),
    ("empty-list", lambda x, m: x[:, []], (3, 4)),
    ("0-size-input", lambda x, m: x[m.tensor([], dtype=m.int64), 1:], (0, 4)),
    ("transposed-input", lambda x, m: x.transpose(0, 2)[m.tensor([4, 0]), :, m.tensor([1, 2])], (3, 4, 5)),
    ("sliced-input", lambda x, m: x[::2, 1:][m.tensor([1, 0]), m.tensor([2, 1])], (3, 4, 5)),
    ("0d-input-true", lambda x, m: x[True], ()),
    ("0d-input-mask", lambda x, m: x[m.tensor(False)], ()),
    ("masked_select", lambda x, m: m.masked_select(x, x > 0), (3, 4)),
    ("masked_select-broadcast", lambda x, m: x[0].masked_select(mask_of(m, [[True, False, True, True]] * 2)), (3, 4)),
    ("take", lambda x, m: m.take(x, m.tensor([[0, -1], [5, 5]])), (3, 4)),
    ("take-strided", lambda x, m: x.t().take(m.tensor([1, 2, 11])), (3, 4)),
    ("index_select", lambda x, m: x.index_select(1, m.tensor([3, 0, 3])), (3, 4, 5)),
    ("index_select-int32", lambda x, m: m.index_select(x, 2, m.tensor([4, 1], dtype=m.int32)), (3, 4, 5)),
    ("gather", lambda x, m: x.gather(1, m.tensor([[0, 1, 1], [3, 2, 0]])), (3, 4)),
    ("gather-3d-dim0", lambda x, m: m.gather(x, 0, m.tensor([[[2, 0], [1, 1]]])), (3, 4, 5)),
    ("gather-transposed", lambda x, m: x.t().gather(0, m.tensor([[2, 0, 1]])), (3, 4)),
    ("take_along_dim", lambda x, m: m.take_along_dim(x, m.tensor([[0], [3], [-1]]), dim=1), (3, 4)),
    ("take_along_dim-broadcast", lambda x, m: x.take_along_dim(m.tensor([[1], [2]]), 0), (3, 4)),
    ("take_along_dim-flat", lambda x, m: m.take_along_dim(x, m.tensor([11, 0, 3])), (3, 4)),
    ("masked_fill", lambda x, m: x.masked_fill(x > 0, -2.5), (3, 4)),
    ("masked_fill-broadcast", lambda x, m: m.masked_fill(x, mask_of(m, [True, False, False, True]), 1), (3, 4)),
]


@pytest.mark.parametrize("fn, shape", [row[1:] for row in GETITEM], ids=[row[0] for row in GETITEM])
def test_getitem_and_gathers_match_torch(fn, shape, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notes (e.g. nested lists)
        check_forward_and_grad(fn, shape, device)


def test_legacy_list_of_sequences_is_a_tuple_with_a_warning():
    x, tx = pair(random_array((3, 4)))
    for key in ([[0, 1], [1, 0]], [0, slice(None)], [dl.tensor([1]), 0], [(0, 2), 1]):
        torch_key = [torch.tensor(k.numpy()) if isinstance(k, dl.Tensor) else k for k in key]
        with pytest.warns(UserWarning, match="non-tuple sequence"):
            got = x[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same(got, tx[torch_key])
    assert x[[1, 0]].shape == (2, 4)  # a list of ints stays an index tensor


def test_uint8_masks_index_with_a_warning_like_torch():
    x, tx = pair(random_array((3, 4)))
    mask = np.array([1, 0, 1], dtype=np.uint8)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        got = x[dl.tensor(mask)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(got, tx[torch.tensor(mask)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_gathers_and_scatters(dtype, device):
    values = random_array((4, 3), dtype, seed=3)
    x, tx = pair(values, dtype, device)
    index = [3, 0, 3]
    mask = np.array([True, False, True, True])
    assert_same(x[index], tx[index])
    assert_same(x[dl.tensor(mask, device=device)], tx[torch.tensor(mask)])
    assert_same(x.gather(1, dl.tensor([[2, 0]], device=device)), tx.gather(1, torch.tensor([[2, 0]])))
    assert_same(dl.nonzero(x), torch.nonzero(tx))
    # Scatters at distinct positions, then accumulation of repeated ones (bool: logical or; integers wrap).
    source, tsource = pair(random_array((2, 3), dtype, seed=4), dtype, device)
    x[[2, 0]] = source
    tx[[2, 0]] = tsource
    assert_same(x, tx)
    both = [dl.tensor([1, 1, 2], device=device)], [torch.tensor([1, 1, 2])]
    extra, textra = pair(random_array((3, 3), dtype, seed=5), dtype, device)
    x.index_put_(both[0], extra, accumulate=True)
    tx.index_put_(both[1], textra, accumulate=True)
    assert_accumulated(x, tx, dtype)
    x, tx = pair(numpy_of(tx), dtype, device)  # the same values on both sides again
    x.masked_fill_(dl.tensor(mask, device=device)[:, None], 1)
    tx.masked_fill_(torch.tensor(mask)[:, None], 1)
    assert_same(x, tx)


@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "bool", "bfloat16"])
def test_scatter_reductions_over_dtypes(dtype, device):
    x, tx = pair(random_array((3, 4), dtype, seed=6), dtype, device)
    index = [[0, 0, 3], [1, 2, 1]]
    src, tsrc = pair(random_array((2, 3), dtype, seed=7), dtype, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: the reduce argument of scatter is deprecated
        for reduce in ("add", "multiply"):
            assert_accumulated(x.scatter(1, dl.tensor(index, device=device), src, reduce=reduce),
                               tx.scatter(1, torch.tensor(index), tsrc, reduce=reduce), dtype)
    assert_accumulated(x.scatter_add(1, dl.tensor(index, device=device), src),
                       tx.scatter_add(1, torch.tensor(index), tsrc), dtype)


# (id, key as torch spells it, value builder(m, shape of x[key]) -> value): distinct positions only,
# since torch leaves the winner of repeated positions unspecified.
SETITEM = [
    ("rows-scalar", ([2, 0],), lambda m, s: 1.5),
    ("rows-broadcast-row", ([2, 0],), lambda m, s: m.tensor(np.arange(s[-1], dtype=np.float64))),
    ("rows-full-value", (torch.tensor([1, 2]),), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("leading-ones-value", ([0, 2],), lambda m, s: m.tensor(random_array((1, 1) + s, seed=9))),
    ("negative-columns", (slice(None), torch.tensor([-1, 1])), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("separated-pair", (torch.tensor([0, 2]), slice(None), torch.tensor([4, 0])), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("broadcast-pair", (torch.tensor([[0], [2]]), torch.tensor([[0, 1, 3]])), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("mask-scalar", (torch.tensor([True, False, True]),), lambda m, s: -7.0),
    ("mask-values", (torch.tensor([True, False, True]),), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("mask-2d", (torch.tensor([[True, False, True, True], [False] * 4, [True] * 4]),), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("int-slice-index", (1, slice(1, None), [0, 3]), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("ellipsis-index", (Ellipsis, [4, 1]), lambda m, s: m.tensor(random_array(s[-1:], seed=9))),
    ("true", (True,), lambda m, s: 2.0),
    ("false", (False,), lambda m, s: 2.0),
    ("basic-slice", (slice(1, None), 0), lambda m, s: m.tensor(random_array(s, seed=9))),
    ("empty-index", (torch.tensor([], dtype=torch.int64),), lambda m, s: 3.0),
]


def setitem_key(key, m, device):
    return key if m is torch else to_dl(key, device)


@pytest.mark.parametrize("key, value", [row[1:] for row in SETITEM], ids=[row[0] for row in SETITEM])
def test_setitem_matches_torch(key, value, device):
    x, tx = pair(random_array((3, 4, 5), seed=8), device=device)
    shape = tuple(tx[key].shape)
    v, tv = value(dl, shape), value(torch, shape)
    if isinstance(v, dl.Tensor):
        v = v.to(device)
    x[setitem_key(key, dl, device)] = v
    tx[key] = tv
    assert_same(x, tx)


@pytest.mark.parametrize("key", [row[1] for row in SETITEM if row[0] not in ("false", "empty-index")],
                         ids=[row[0] for row in SETITEM if row[0] not in ("false", "empty-index")])
def test_setitem_gradients_match_torch(key, device):
    """x = leaf * 1 (a graph tensor); x[key] = v records the write: both the leaf and v get torch's gradients."""
    leaf, tleaf = pair(random_array((3, 4, 5), seed=10), device=device, requires_grad=True)
    shape = tuple(tleaf[key].shape)
    v, tv = pair(random_array(shape[-1:] if len(shape) > 1 else shape, seed=11), device=device, requires_grad=True)
    x, tx = leaf * 1.0, tleaf * 1.0
    x[setitem_key(key, dl, device)] = v
    tx[key] = tv
    weights = random_array((3, 4, 5), seed=12)
    (x * dl.tensor(weights, device=device)).sum().backward()
    (tx * torch.tensor(weights)).sum().backward()
    assert x.grad_fn.name() == "IndexPutBackward"
    np.testing.assert_allclose(leaf.grad.cpu().numpy(), tleaf.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)
    np.testing.assert_allclose(v.grad.cpu().numpy(), tv.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)


def test_setitem_casts_values_and_accepts_numpy_and_lists(device):
    x = dl.zeros(3, 4, dtype=dl.int64, device=device)
    x[[0, 2]] = dl.tensor([[1.9, 2.2, 3.7, -4.5]], device=device)  # float into int64: truncated, as a cast does
    x[1, [1, 2]] = [7, 8]
    x[dl.tensor([True, False, True]), 0] = np.int64(-1)
    assert x.tolist() == [[-1, 2, 3, -4], [0, 7, 8, 0], [-1, 2, 3, -4]]
    y = dl.zeros(4, dtype=dl.bfloat16, device=device)
    y[[3, 1]] = 2.5
    assert y.float().tolist() == [0.0, 2.5, 0.0, 2.5]


def test_setitem_reads_a_value_that_aliases_the_target():
    """torch refuses (\"refer to a single memory location\"); dlcore reads such a value from a copy."""
    x = dl.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    x[[0, 1]] = x[1:3]
    assert x.tolist() == [[4, 5, 6, 7], [8, 9, 10, 11], [8, 9, 10, 11]]


def test_index_put_accumulates_repeated_positions(device):
    x, tx = pair(random_array((4, 3), seed=13), device=device, requires_grad=True)
    v, tv = pair(random_array((5, 3), seed=14), device=device, requires_grad=True)
    rows = [3, 0, 3, 3, 1]
    out = dl.index_put(x, (dl.tensor(rows, device=device),), v, accumulate=True)
    tout = torch.index_put(tx, (torch.tensor(rows),), tv, accumulate=True)
    np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    weights = random_array((4, 3), seed=15)
    (out * dl.tensor(weights, device=device)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)
    np.testing.assert_allclose(v.grad.cpu().numpy(), tv.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)
    # float32 and int64 in place, a mask index and a 2-D index pair, accumulate=True.
    y, ty = pair(random_array((3, 4), "float32", 16), device=device)
    mask = np.array([[True, False, True, False]] * 3)
    y.index_put_([dl.tensor(mask, device=device)], dl.tensor(2.0, device=device), accumulate=True)
    ty.index_put_([torch.tensor(mask)], torch.tensor(2.0), accumulate=True)
    assert_same(y, ty)
    z, tz = pair(random_array((3, 4), "int64", 17), device=device)
    pairs = ([0, 0, 2, 0], [1, 1, 3, 1])
    z.index_put_(tuple(dl.tensor(p, device=device) for p in pairs), dl.tensor([5, 6, 7, 8], device=device), accumulate=True)
    tz.index_put_(tuple(torch.tensor(p) for p in pairs), torch.tensor([5, 6, 7, 8]), accumulate=True)
    assert_same(z, tz)


def test_index_put_without_accumulate_gradients(device):
    x, tx = pair(random_array((4, 3), seed=18), device=device, requires_grad=True)
    v, tv = pair(random_array((3,), seed=19), device=device, requires_grad=True)
    key, tkey = (dl.tensor([2, 0], device=device),), (torch.tensor([2, 0]),)
    out, tout = x.index_put(key, v), tx.index_put(tkey, tv)
    weights = random_array((4, 3), seed=20)
    (out * dl.tensor(weights, device=device)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)
    np.testing.assert_allclose(v.grad.cpu().numpy(), tv.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)


def test_scatter_from_a_larger_source_reads_its_leading_block(device):
    """torch's backward refuses this case ("invalid gradient"); dlcore gives the source zeros outside the block."""
    x, tx = pair(random_array((3, 4), seed=29), device=device, requires_grad=True)
    s, ts = pair(random_array((3, 4), seed=30), device=device, requires_grad=True)
    index = [[2, 0], [3, 1]]
    out = x.scatter(1, dl.tensor(index, device=device), s)
    np.testing.assert_array_equal(out.detach().cpu().numpy(), tx.scatter(1, torch.tensor(index), ts).detach().numpy())
    out.sum().backward()
    expected = np.zeros((3, 4))
    expected[:2, :2] = 1.0
    np.testing.assert_array_equal(s.grad.cpu().numpy(), expected)


def test_getitem_gradient_accumulates_repeats_and_nonzero_forms(device):
    x, tx = pair(random_array((3, 4), seed=21), device=device)
    for as_tuple in (False, True):
        got, want = (x > 0).nonzero(as_tuple=as_tuple), (tx > 0).nonzero(as_tuple=as_tuple)
        for a, b in zip(got if as_tuple else [got], want if as_tuple else [want]):
            assert_same(a, b)
    assert_same(dl.argwhere(x < 0), torch.argwhere(tx < 0))
    special = np.array([0.0, -0.0, np.nan, 1.0])
    assert dl.nonzero(dl.tensor(special, device=device)).cpu().tolist() == [[2], [3]]  # NaN is nonzero, -0.0 is not
    scalar = dl.tensor(3.0, device=device)
    assert dl.nonzero(scalar).shape == (1, 0)
    assert [t.tolist() for t in scalar.nonzero(as_tuple=True)] == [[0]]


# In-place and out-of-place writes along a dim: (id, fn(x, source, m) -> result, x shape, source shape).
WRITES = [
    ("index_add", lambda x, s, m: x.index_add(0, m.tensor([2, 0, 2]), s, alpha=2.0), (3, 4), (3, 4)),
    ("index_add-dim1", lambda x, s, m: m.index_add(x, 1, m.tensor([3, 1]), s), (3, 4), (3, 2)),
    ("index_copy", lambda x, s, m: x.index_copy(1, m.tensor([3, 0]), s), (3, 4), (3, 2)),
    ("index_fill", lambda x, s, m: x.index_fill(1, m.tensor([3, 1, 0]), s.sum()), (3, 4), (2,)),
    ("scatter", lambda x, s, m: x.scatter(1, m.tensor([[2, 0, 1], [0, 3, 2]]), s), (3, 4), (2, 3)),
    ("scatter_add", lambda x, s, m: m.scatter_add(x, 0, m.tensor([[2, 2, 0, 1], [2, 0, 0, 1]]), s), (3, 4), (2, 4)),
    ("masked_scatter", lambda x, s, m: x.masked_scatter(mask_of(m, [[True, False, True, False]] * 3), s), (3, 4), (8,)),
    ("masked_fill-tensor-value", lambda x, s, m: m.masked_fill(x, mask_of(m, [True, False, True, False]), s.sum()), (3, 4), (2,)),
]


@pytest.mark.parametrize("fn, x_shape, s_shape", [row[1:] for row in WRITES], ids=[row[0] for row in WRITES])
def test_writes_along_a_dim_match_torch(fn, x_shape, s_shape, device):
    x, tx = pair(random_array(x_shape, seed=22), device=device, requires_grad=True)
    s, ts = pair(random_array(s_shape, seed=23), device=device, requires_grad=True)
    out, tout = fn(x, s, dl), fn(tx, ts, torch)
    np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    weights = random_array(x_shape, seed=24)
    (out * dl.tensor(weights, device=device)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)
    expected_source_grad = ts.grad.numpy() if ts.grad is not None else np.zeros(s_shape)
    np.testing.assert_allclose(s.grad.cpu().numpy(), expected_source_grad, rtol=GRAD_TOL, atol=GRAD_TOL)


INPLACE = [
    ("index_add_", lambda x, m: x.index_add_(1, m.tensor([0, 0]), m.ones(3, 2, dtype=x.dtype, device=x.device), alpha=-1.0)),
    ("index_copy_", lambda x, m: x.index_copy_(0, m.tensor([2]), m.zeros(1, 4, dtype=x.dtype, device=x.device))),
    ("index_fill_", lambda x, m: x.index_fill_(0, m.tensor([1, -1]), 4.0)),
    ("scatter_-value", lambda x, m: x.scatter_(1, m.tensor([[1], [3], [0]]), value=-3.0)),
    ("scatter_-number-src", lambda x, m: x.scatter_(0, m.tensor([[1, 2, 0, 1]]), 8.5)),
    ("scatter_add_", lambda x, m: x.scatter_add_(1, m.tensor([[1, 1]]), m.ones(1, 2, dtype=x.dtype, device=x.device))),
    ("masked_fill_", lambda x, m: x.masked_fill_(x > 0.5, 0.25)),
    ("masked_scatter_", lambda x, m: x.masked_scatter_(x < 0, m.arange(12, device=x.device).to(x.dtype))),
    ("index_put_", lambda x, m: x.index_put_((m.tensor([0, 2]), m.tensor([1, 3])), m.tensor([5.0, 6.0], dtype=x.dtype, device=x.device))),
]


@pytest.mark.parametrize("fn", [row[1] for row in INPLACE], ids=[row[0] for row in INPLACE])
def test_in_place_forms_write_and_record_like_torch(fn, device):
    # Without autograd: the write itself (returns self).
    x, tx = pair(random_array((3, 4), seed=25), device=device)
    result = fn(x, dl)
    fn(tx, torch)
    assert result is x or result.data_ptr() == x.data_ptr()
    assert_same(x, tx)
    # On a graph tensor: recorded, so gradients reach the leaf through the write.
    leaf, tleaf = pair(random_array((3, 4), seed=26), device=device, requires_grad=True)
    y, ty = leaf * 2.0, tleaf * 2.0
    fn(y, dl)
    fn(ty, torch)
    weights = random_array((3, 4), seed=27)
    (y * dl.tensor(weights, device=device)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(leaf.grad.cpu().numpy(), tleaf.grad.numpy(), rtol=GRAD_TOL, atol=GRAD_TOL)
    # On a leaf that requires grad: refused with torch's RuntimeError.
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        fn(dl.tensor(random_array((3, 4)), device=device, requires_grad=True), dl)


def test_cpu_indices_index_device_tensors(device):
    x, tx = pair(random_array((4, 3), seed=28), device=device)
    rows, mask = dl.tensor([3, 1]), dl.tensor([True, False, True, True])  # on the CPU whatever x's device
    assert_same(x[rows], tx[torch.tensor([3, 1])])
    assert_same(x[mask, 1:], tx[torch.tensor(mask.numpy()), 1:])
    x[rows] = 0.5
    tx[torch.tensor([3, 1])] = 0.5
    assert_same(x, tx)
    assert_same(x.gather(0, dl.tensor([[1, 2, 3]])), tx.gather(0, torch.tensor([[1, 2, 3]])))
    assert x[rows].device == x.device


def test_device_index_tensors_wrap_and_check_bounds(device):
    """Index tensors on x's device: negative positions wrap and bounds are checked there too."""
    x, tx = pair(random_array((4, 3), seed=31), device=device)
    rows = [-1, 0, -4]
    assert_same(x[dl.tensor(rows, device=device)], tx[torch.tensor(rows)])
    assert_same(x[:, dl.tensor([-3, 2], dtype=dl.int32, device=device)], tx[:, torch.tensor([-3, 2], dtype=torch.int32)])
    x[dl.tensor([-2], device=device)] = 9.0
    tx[torch.tensor([-2])] = 9.0
    assert_same(x, tx)
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        x[dl.tensor([0, 4], device=device)]
    with pytest.raises(IndexError, match="index -5 is out of bounds for dimension 0 with size 4"):
        x[dl.tensor([-5, 1], device=device)]
    with pytest.raises(RuntimeError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x.gather(1, dl.tensor([[3]], device=device))


def test_device_index_on_a_cpu_tensor_is_refused(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    x = dl.zeros(3)
    with pytest.raises(RuntimeError, match=r"on cuda.*cannot index a tensor on cpu"):
        x[dl.tensor([0], device=device)]
    with pytest.raises(RuntimeError, match=r"cuda.*cpu"):
        x.masked_fill(dl.tensor([True, False, True], device=device), 1.0)


def x34():
    return dl.tensor(random_array((3, 4), "float32"))


BAD_INPUTS = [
    ("out-of-range", lambda: x34()[dl.tensor([5])], IndexError, r"index 5 is out of bounds for dimension 0 with size 3"),
    ("out-of-range-second", lambda: x34()[[0, 1], [0, 4]], IndexError, r"index 4 is out of bounds for dimension 1 with size 4"),
    ("out-of-range-int", lambda: x34()[:, 4], IndexError, r"index 4 is out of bounds for dimension 1 with size 4"),
    ("mask-shape", lambda: dl.zeros(3)[dl.tensor([True, False])], IndexError,
     r"The shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor \[3\] at index 0"),
    ("mask-shape-later-dim", lambda: x34()[:, dl.tensor([True, False])], IndexError,
     r"The shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor \[3, 4\] at index 1"),
    ("no-broadcast", lambda: x34()[[0, 1], [0, 1, 2]], IndexError,
     r"shape mismatch: indexing tensors could not be broadcast together with shapes \[2\], \[3\]"),
    ("float-index", lambda: x34()[dl.tensor([0.5])], IndexError, r"tensors used as indices must be long, int, byte or bool"),
    ("too-many", lambda: x34()[0, [0], 1], IndexError, r"too many indices for tensor of dimension 2"),
    ("bad-item", lambda: x34()[1.5], IndexError, r"only integers, slices"),
    ("setitem-shape", lambda: x34().__setitem__([0, 1], dl.ones(3)), RuntimeError,
     r"shape mismatch: value tensor of shape \[3\] cannot be broadcast to indexing result of shape \[2, 4\]"),
    ("index_put-dtype", lambda: x34().index_put_((dl.tensor([0]),), dl.tensor([1.0], dtype=dl.float64)), RuntimeError,
     r"Index put requires the source and destination dtypes match, got float32 for the destination and float64"),
    ("index_put-values-type", lambda: x34().index_put_((dl.tensor([0]),), 1.0), TypeError, r"index_put_"),
    ("masked_fill-mask-dtype", lambda: x34().masked_fill(dl.ones(3, 4, dtype=dl.int64), 1.0), RuntimeError,
     r"masked_fill only supports boolean masks"),
    ("masked_fill-1d-value", lambda: x34().masked_fill(dl.ones(4, dtype=dl.bool), dl.ones(1)), RuntimeError,
     r"only supports a 0-dimensional value tensor, but got tensor with 1 dimension"),
    ("masked_fill_-broadcast", lambda: dl.zeros(3).masked_fill_(dl.ones(2, 3, dtype=dl.bool), 1.0), RuntimeError,
     r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"),
    ("masked_select-uint8", lambda: x34().masked_select(dl.ones(3, 4, dtype=dl.uint8)), RuntimeError, r"expected BoolTensor"),
    ("masked_scatter-short", lambda: dl.zeros(3).masked_scatter(dl.ones(3, dtype=dl.bool), dl.ones(2)), RuntimeError,
     r"Number of elements of source < number of ones in mask"),
    ("gather-range", lambda: x34().gather(1, dl.tensor([[4]])), RuntimeError, r"index 4 is out of bounds for dimension 1 with size 4"),
    ("gather-negative", lambda: x34().gather(1, dl.tensor([[-1]])), RuntimeError, r"index -1 is out of bounds"),
    ("gather-size", lambda: x34().gather(1, dl.zeros(4, 1, dtype=dl.int64)), RuntimeError,
     r"Size does not match at dimension 0 expected index \[4, 1\] to be no larger than self \[3, 4\] apart from dimension 1"),
    ("gather-dims", lambda: x34().gather(1, dl.zeros(2, dtype=dl.int64)), RuntimeError, r"same number of dimensions"),
    ("gather-dtype", lambda: x34().gather(1, dl.zeros(2, 1)), RuntimeError, r"Expected dtype int32/int64 for index"),
    ("gather-dim", lambda: x34().gather(2, dl.zeros(2, 1, dtype=dl.int64)), IndexError, r"dimension out of range"),
    ("scatter-reduce", lambda: x34().scatter(1, dl.tensor([[0]]), dl.ones(1, 1), reduce="max"), RuntimeError,
     r"reduce argument must be either add or multiply"),
    ("scatter-dtype", lambda: x34().scatter(1, dl.tensor([[0]]), dl.ones(1, 1, dtype=dl.float64)), RuntimeError,
     r"Expected self.dtype to be equal to src.dtype"),
    ("scatter-src-size", lambda: x34().scatter(1, dl.zeros(2, 2, dtype=dl.int64), dl.ones(1, 2)), RuntimeError,
     r"to be no larger size than src \[1, 2\]"),
    ("scatter-reduce-grad", lambda: dl.ones(2, 2, requires_grad=True).scatter(1, dl.tensor([[0]]), dl.ones(1, 1), reduce="add"),
     RuntimeError, r"derivative for scatter with a reduce argument is not implemented"),
    ("index_add-range", lambda: x34().index_add(0, dl.tensor([3]), dl.ones(1, 4)), RuntimeError,
     r"index 3 is out of bounds for dimension 0 with size 3"),
    ("index_add-shape", lambda: x34().index_add(0, dl.tensor([0, 0]), dl.ones(2, 3)), RuntimeError,
     r"source tensor shape must match self tensor shape"),
    ("index_add-dtype", lambda: x34().index_add(0, dl.tensor([0]), dl.ones(1, 4, dtype=dl.float64)), RuntimeError,
     r"self \(float32\) and source \(float64\) must have the same scalar type"),
    ("index_copy-range", lambda: x34().index_copy(1, dl.tensor([4]), dl.ones(3, 1)), IndexError,
     r"index 4 is out of bounds for dimension 1 with size 4"),
    ("index_fill-range", lambda: x34().index_fill(1, dl.tensor([-5]), 1.0), IndexError, r"index -5 is out of bounds"),
    ("index_fill-value", lambda: x34().index_fill(1, dl.tensor([0]), dl.ones(1)), RuntimeError,
     r"only supports a 0-dimensional value tensor"),
    ("index_select-2d", lambda: x34().index_select(0, dl.tensor([[0]])), ValueError, r"index must be 0-D or 1-D"),
    ("take-range", lambda: x34().take(dl.tensor([12])), IndexError,
     r"out of range: tried to access index 12 on a tensor of 12 elements"),
    ("take-int32", lambda: x34().take(dl.tensor([1], dtype=dl.int32)), RuntimeError, r"Expected a long tensor for index"),
    ("take_along_dim-dims", lambda: dl.take_along_dim(x34(), dl.tensor([1]), dim=1), RuntimeError,
     r"input and indices should have the same number of dimensions"),
    ("take_along_dim-broadcast", lambda: dl.take_along_dim(x34(), dl.tensor([[0, 1]]), dim=0), RuntimeError,
     r"The size of tensor a \(4\) must match the size of tensor b \(2\) at non-singleton dimension 1"),
    ("take_along_dim-range", lambda: dl.take_along_dim(x34(), dl.tensor([12])), RuntimeError,
     r"index 12 is out of bounds for dimension 0 with size 12"),
    ("setitem-leaf", lambda: dl.ones(3, requires_grad=True).__setitem__([0], 2.0), RuntimeError,
     r"a leaf Variable that requires grad is being used in an in-place operation"),
    ("setitem-leaf-basic", lambda: dl.ones(3, requires_grad=True).__setitem__(0, 2.0), RuntimeError,
     r"a leaf Variable that requires grad is being used in an in-place operation"),
]


@pytest.mark.parametrize("call, error, pattern", [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS])
def test_bad_inputs_raise_torch_exception_types(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_bad_inputs_have_the_same_exception_types_in_torch():
    """The exception types above are torch's own: spot-check them on torch."""
    tx = torch.zeros(3, 4)
    with pytest.raises(IndexError):
        tx[torch.tensor([5])]
    with pytest.raises(IndexError):
        tx[:, torch.tensor([True, False])]
    with pytest.raises(RuntimeError):
        tx.gather(1, torch.tensor([[4]]))
    with pytest.raises(RuntimeError):
        tx[[0, 1]] = torch.ones(3)
    with pytest.raises(IndexError):
        tx.take(torch.tensor([12]))
    with pytest.raises(IndexError):
        tx.index_copy(1, torch.tensor([4]), torch.ones(3, 1))
    with pytest.raises(RuntimeError):
        tx.index_add(0, torch.tensor([3]), torch.ones(1, 4))
