# Strided views, indexing and the ops that assemble tensors, against PyTorch: values, shapes,
# strides and storage offsets of every view, storage sharing (writes through a view reach the base),
# gradients on random float32 inputs, 0-size and 1-element cases, and the exception types torch raises.
from __future__ import annotations

import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")

# Views move no arithmetic: forward values must be bit-identical. Gradients of views are copies or
# sums of a few upstream values (expand, index with repeats): float32 rounding, 1e-6 relative.
GRAD_RTOL, GRAD_ATOL = 1e-6, 1e-6


def both(shape, seed=0, device="cpu"):
    """The same random float32 input as a dlcore and a torch leaf that require grad."""
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    # Copied into a fresh tensor: torch.tensor gives empty arrays zero strides, torch.empty contiguous ones.
    reference = torch.empty(values.shape).copy_(torch.from_numpy(values)).requires_grad_(True)
    return dl.tensor(values, device=device, requires_grad=True), reference


def as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check_view(fn, shape, device="cpu", seed=0, dl_fn=None):
    """fn applied to both frameworks' tensors (dl_fn for dlcore when the spelling differs): equal
    values, shapes, strides and storage offsets; then equal input gradients of a random weighting
    of every output."""
    x, tx = both(shape, seed, device)
    outs, touts = as_list((dl_fn or fn)(x)), as_list(fn(tx))
    assert len(outs) == len(touts)
    for out, tout in zip(outs, touts):
        assert out.shape == tuple(tout.shape)
        np.testing.assert_array_equal(out.detach().cpu().numpy(), tout.detach().numpy())
        assert out.stride() == tout.stride(), (out.stride(), tout.stride())
        assert out.storage_offset() == tout.storage_offset()
    rng = np.random.default_rng(seed + 1)
    weights = [rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in touts]
    total = sum((o * dl.tensor(w, device=device)).sum() for o, w in zip(outs, weights))
    ttotal = sum((t * torch.tensor(w)).sum() for t, w in zip(touts, weights))
    total.backward()
    ttotal.backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=GRAD_RTOL, atol=GRAD_ATOL)


VIEWS = [
    ("permute", lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    ("permute-tuple-negative", lambda x: x.permute((-1, 0, 1)), (2, 3, 4)),
    ("transpose", lambda x: x.transpose(0, 2), (2, 3, 4)),
    ("t", lambda x: x.t(), (3, 5)),
    ("t-1d", lambda x: x.t(), (4,)),
    ("T", lambda x: x.T, (3, 5)),
    ("mT", lambda x: x.mT, (2, 3, 4)),
    ("unsqueeze-front", lambda x: x.unsqueeze(0), (3, 4)),
    ("unsqueeze-back", lambda x: x.unsqueeze(-1), (3, 4)),
    ("unsqueeze-of-transpose", lambda x: x.t().unsqueeze(1), (3, 4)),
    ("squeeze-all", lambda x: x.squeeze(), (1, 3, 1, 4)),
    ("squeeze-dim", lambda x: x.squeeze(2), (1, 3, 1, 4)),
    ("squeeze-non-singleton", lambda x: x.squeeze(1), (1, 3, 1, 4)),
    ("squeeze-tuple", lambda x: x.squeeze((0, 2)), (1, 3, 1, 4)),
    ("expand", lambda x: x.expand(2, 3, 4), (3, 1)),
    ("expand-minus-one", lambda x: x.expand(5, -1, 4), (3, 1)),
    ("narrow", lambda x: x.narrow(1, 1, 2), (3, 4)),
    ("narrow-negative-start", lambda x: x.narrow(0, -2, 2), (3, 4)),
    ("select", lambda x: x.select(1, 2), (3, 4)),
    ("select-negative", lambda x: x.select(0, -1), (3, 4)),
    ("split-int", lambda x: x.split(2, 1), (3, 5)),
    ("split-sizes", lambda x: x.split([1, 3, 1], 1), (3, 5)),
    ("chunk", lambda x: x.chunk(3, 0), (7, 2)),
    ("unbind", lambda x: x.unbind(1), (2, 3)),
    ("unflatten", lambda x: x.unflatten(1, (2, -1)), (3, 6)),
    ("unflatten-of-transpose", lambda x: x.t().unflatten(0, (3, 2)), (4, 6)),
    ("diagonal", lambda x: x.diagonal(), (4, 4)),
    ("diagonal-offset", lambda x: x.diagonal(1, 1, 2), (2, 3, 4)),
    ("diagonal-negative-offset", lambda x: x.diagonal(-1, 2, 0), (3, 2, 4)),
    ("view-of-permute", lambda x: x.permute(2, 0, 1).view(4, 6), (2, 3, 4)),
    ("view-minus-one", lambda x: x.view(-1), (2, 3, 4)),
    ("view-splits-a-strided-dim", lambda x: x.t().view(2, 2, 3), (3, 4)),
    ("reshape-as-view", lambda x: x[:, 1:].reshape(3, 1, 3), (3, 4)),
    ("reshape-copies", lambda x: x.t().reshape(12), (3, 4)),
    ("contiguous", lambda x: x.t().contiguous(), (3, 4)),
    ("getitem-int", lambda x: x[1], (3, 4)),
    ("getitem-negative", lambda x: x[-1, -2], (3, 4)),
    ("getitem-slices-steps", lambda x: x[1:, ::2], (3, 5)),
    ("getitem-clamped-slice", lambda x: x[-10:2, 3:100], (3, 5)),
    ("getitem-empty-slice", lambda x: x[:, 3:1], (3, 5)),
    ("getitem-none-ellipsis", lambda x: x[None, ..., 1, None], (2, 3, 4)),
    ("getitem-ellipsis-front", lambda x: x[..., ::3], (2, 3, 4)),
    ("chain", lambda x: x.permute(1, 0, 2)[1:, :, 1].unsqueeze(0).expand(2, -1, -1), (2, 3, 4)),
]


@pytest.mark.parametrize("fn, shape", [row[1:] for row in VIEWS], ids=[row[0] for row in VIEWS])
def test_view_matches_torch(fn, shape, device):
    check_view(fn, shape, device)


def test_views_share_storage_both_ways():
    base = dl.zeros(3, 4)
    v = base.t()[1:3]
    assert v.data_ptr() == base.data_ptr() + 4 * v.storage_offset()
    v[0, 2] = 7.0  # column 1 of the base, row 2
    assert base.numpy()[2, 1] == 7.0
    base[0, 2] = 3.0
    assert v.numpy()[1, 0] == 3.0
    for piece in base.split(1, 1):  # every piece views the same storage
        assert piece.data_ptr() == base.data_ptr() + 4 * piece.storage_offset()


def test_transposed_view_exports_to_numpy_zero_copy():
    base = dl.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    array = base.t().numpy()
    assert array.shape == (4, 3) and array.strides == (4, 16)
    assert array.ctypes.data == base.data_ptr()
    base[1, 2] = -1.0
    assert array[2, 1] == -1.0


@pytest.mark.parametrize("key", [1, -1, (slice(None), 1), (slice(0, 2),), (Ellipsis, slice(1, None, 2)), (None, 0)])
def test_setitem_matches_torch(key, device):
    values = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    x, tx = dl.tensor(values, device=device), torch.tensor(values)
    x[key] = 5.0
    tx[key] = 5.0
    np.testing.assert_array_equal(x.cpu().numpy(), tx.numpy())
    # A broadcastable tensor value (a row of the right width).
    row = np.arange(4, dtype=np.float32)[-tx[key].shape[-1]:] if tx[key].dim() else np.float32(2.0)
    x[key] = dl.tensor(row, device=device)
    tx[key] = torch.tensor(row)
    np.testing.assert_array_equal(x.cpu().numpy(), tx.numpy())


def test_setitem_with_index_tensor_and_int64_dtype():
    x, tx = dl.zeros(4, 3), torch.zeros(4, 3)
    x[dl.tensor([0, 2])] = dl.tensor([1.0, 2.0, 3.0])
    tx[torch.tensor([0, 2])] = torch.tensor([1.0, 2.0, 3.0])
    x[:, [1]] = 9.0
    tx[:, [1]] = 9.0
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    counts = dl.zeros(5, dtype=dl.int64)
    counts[1:3] = 4  # a Python int into an int64 tensor
    assert counts.tolist() == [0, 4, 4, 0, 0]


# Copies, plus the views whose argument is a tensor of the framework at hand.
INDEXING = [
    ("tensor-rows", lambda x, m: x[m.tensor([2, 0, 2])], (3, 4)),
    ("tensor-columns", lambda x, m: x[:, m.tensor([3, -1, 0])], (3, 4)),
    ("list", lambda x, m: x[[1, 1, 0]], (3, 4)),
    ("tensor-2d-index", lambda x, m: x[:, m.tensor([[0, 1], [2, 2]])], (2, 3)),
    ("tensor-after-slice", lambda x, m: x[1:, m.tensor([1])], (3, 4)),
    ("tensor-0d-index", lambda x, m: x[m.tensor(1)], (3, 4)),
    ("expand_as", lambda x, m: x.expand_as(m.zeros(2, 3, 4)), (1, 4)),
    ("index_select", lambda x, m: x.index_select(1, m.tensor([2, 0, 0])), (3, 4)),
    ("index_select-empty", lambda x, m: m.index_select(x, 0, m.tensor([], dtype=m.int64)), (3, 4)),
    ("cat", lambda x, m: m.cat([x, x * 2.0, x[:1]], 0), (2, 3)),
    ("cat-dim1", lambda x, m: m.cat([x.t(), x.t()[:, :1]], dim=1), (2, 3)),
    ("cat-skips-legacy-empty", lambda x, m: m.cat([m.zeros(0, device=x.device), x]), (2, 3)),
    ("concat", lambda x, m: m.concat([x, x], -1), (2, 3)),
    ("stack", lambda x, m: m.stack([x, x.t().t()], 1), (2, 3)),
    ("stack-last", lambda x, m: m.stack([x, x], -1), (2, 3)),
]


@pytest.mark.parametrize("fn, shape", [row[1:] for row in INDEXING], ids=[row[0] for row in INDEXING])
def test_copying_ops_match_torch(fn, shape, device):
    check_view(lambda x: fn(x, torch), shape, device, dl_fn=lambda x: fn(x, dl))


FUNCTIONS = [
    ("permute", lambda x, m: m.permute(x, (1, 0, 2))),
    ("transpose", lambda x, m: m.transpose(x, 0, 1)),
    ("unsqueeze", lambda x, m: m.unsqueeze(x, 1)),
    ("squeeze", lambda x, m: m.squeeze(x[:, :1])),
    ("squeeze-dim", lambda x, m: m.squeeze(x[:, :1], 1)),
    ("narrow", lambda x, m: m.narrow(x, 2, 1, 2)),
    ("select", lambda x, m: m.select(x, 1, 0)),
    ("split", lambda x, m: m.split(x, 1, 1)),
    ("split-sizes", lambda x, m: m.split(x, [3, 1], dim=2)),
    ("chunk", lambda x, m: m.chunk(x, 2, 2)),
    ("unbind", lambda x, m: m.unbind(x)),
]


@pytest.mark.parametrize("fn", [row[1] for row in FUNCTIONS], ids=[row[0] for row in FUNCTIONS])
def test_module_functions_match_torch(fn):
    check_view(lambda x: fn(x, torch), (2, 3, 4), dl_fn=lambda x: fn(x, dl))


EDGE_CASES = [
    ("0-size-permute", lambda x: x.permute(1, 0), (0, 3)),
    ("0-size-split", lambda x: x.split(2, 1), (0, 3)),
    ("0-size-dim-split", lambda x: x.split(0, 0), (0, 3)),
    ("0-size-chunk", lambda x: x.chunk(3), (0, 3)),
    ("0-size-view", lambda x: x.view(3, 0), (0, 3)),
    ("0-size-expand", lambda x: x.expand(0, 3), (1, 3)),
    ("0-size-getitem", lambda x: x[:, 1:], (0, 3)),
    ("1-element-squeeze", lambda x: x.squeeze(), (1, 1)),
    ("1-element-select", lambda x: x[0, 0], (1, 1)),
    ("0-d-unsqueeze", lambda x: x.unsqueeze(0), ()),
    ("0-d-squeeze", lambda x: x.squeeze(0), ()),
    ("0-d-transpose", lambda x: x.transpose(0, -1), ()),
    ("0-d-expand", lambda x: x.expand(2, 3), ()),
    ("0-d-view", lambda x: x.view(1, 1), ()),
    ("0-d-getitem-none", lambda x: x[None], ()),
]


@pytest.mark.parametrize("fn, shape", [row[1:] for row in EDGE_CASES], ids=[row[0] for row in EDGE_CASES])
def test_empty_and_single_element_cases_match_torch(fn, shape):
    check_view(fn, shape)


def test_gradients_accumulate_over_overlapping_views():
    x, tx = both((4, 5), seed=7)
    for m, t in ((dl, x), (torch, tx)):
        pieces = t.split(2, 0) + t.unbind(1)
        total = sum(((p * p).sum() for p in pieces), t[1:3, ::2].sum()) + t[[0, 0, 3]].sum()
        total.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_in_place_write_through_a_view_invalidates_saved_tensors():
    """Like torch: the base's saved version no longer matches after a write through any view of it."""
    for m in (dl, torch):
        a = m.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
        w = m.ones(2, 3, requires_grad=True)
        out = (a.t().t() * w).sum()  # MulBackward saves a view of a
        a[0, 1] = 10.0  # a write through another view of the same storage
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            out.backward()


def test_views_record_their_backward_nodes():
    x = dl.randn(3, 4, requires_grad=True)
    assert x.t().grad_fn.name() == "PermuteBackward"
    assert x[1].grad_fn.name() == "SelectBackward"
    assert x[:, 1:].grad_fn.name() == "SliceBackward"
    assert x.expand(2, 3, 4).grad_fn.name() == "ExpandBackward"
    assert x[[0]].grad_fn.name() == "IndexBackward"  # torch: IndexBackward0
    with dl.no_grad():
        assert x.t().grad_fn is None and not x.t().requires_grad


def test_contiguous_and_is_contiguous():
    x = dl.randn(3, 4)
    assert x.is_contiguous() and x.contiguous().data_ptr() == x.data_ptr()
    t = x.t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.stride() == (3, 1) and c.data_ptr() != x.data_ptr()
    assert x.stride(0) == 4 and x.stride(-1) == 1 and t.stride() == (1, 4)


def test_shape_error_is_both_value_error_and_runtime_error():
    assert issubclass(dl.ShapeError, ValueError) and issubclass(dl.ShapeError, RuntimeError)
    with pytest.raises(RuntimeError, match=r"view: size \[12\] is not compatible with input of shape \[4, 3\]"):
        dl.randn(3, 4).t().view(12)
    with pytest.raises(ValueError, match=r"reshape: shape \[5, -1\] is invalid for input of shape \[3, 4\]"):
        dl.randn(3, 4).reshape(5, -1)


def x34():
    return dl.randn(3, 4)


# (id, call, the exception torch raises for the same mistake, regex the message must match)
BAD_INPUTS = [
    ("permute-dim-range", lambda: x34().permute(0, 2), IndexError, r"permute: dimension out of range.*\[-2, 1\].*got 2"),
    ("permute-count", lambda: x34().permute(0), RuntimeError, r"permute: the number of dims \[0\].*\[3, 4\]"),
    ("permute-duplicate", lambda: x34().permute(0, 0), RuntimeError, r"permute: duplicate dims"),
    ("transpose-range", lambda: x34().transpose(0, 3), IndexError, r"transpose: dimension out of range"),
    ("t-3d", lambda: dl.randn(2, 2, 2).t(), RuntimeError, r"t: expects a tensor with <= 2 dimensions.*\[2, 2, 2\]"),
    ("unsqueeze-range", lambda: x34().unsqueeze(3), IndexError, r"unsqueeze: dimension out of range.*\[-3, 2\]"),
    ("squeeze-range", lambda: x34().squeeze(2), IndexError, r"squeeze: dimension out of range"),
    ("expand-mismatch", lambda: x34().expand(3, 5), RuntimeError,
     r"expand: the expanded size 5 must match the existing size 4 at non-singleton dimension 1"),
    ("expand-too-few", lambda: x34().expand(5), RuntimeError, r"expand: the number of sizes \[5\].*\[3, 4\]"),
    ("expand-new-minus-one", lambda: dl.randn(3).expand(-1, 3), RuntimeError, r"expand: size -1 is not allowed"),
    ("narrow-length", lambda: x34().narrow(0, 2, 5), RuntimeError, r"narrow: start \(2\) \+ length \(5\) exceeds.*\(3\)"),
    ("narrow-start", lambda: x34().narrow(0, -4, 1), IndexError, r"narrow: start -4 out of range"),
    ("select-range", lambda: x34().select(0, 3), IndexError, r"select: index 3 is out of bounds for dimension 0 with size 3"),
    ("select-0d", lambda: dl.tensor(2.0).select(0, 0), IndexError, r"select: cannot be applied to a 0-D tensor"),
    ("split-0", lambda: x34().split(0), RuntimeError, r"split: split_size must be positive"),
    ("split-sizes-sum", lambda: x34().split([1, 1]), RuntimeError, r"split_with_sizes: split sizes \[1, 1\] must sum exactly to 3"),
    ("chunk-0", lambda: x34().chunk(0), RuntimeError, r"chunk: expects chunks to be greater than 0"),
    ("unbind-range", lambda: x34().unbind(2), IndexError, r"unbind: dimension out of range"),
    ("unflatten-product", lambda: x34().unflatten(1, (3, 2)), RuntimeError,
     r"unflatten: sizes \[3, 2\] don't multiply up to the size of dim 1 \(4\)"),
    ("diagonal-same-dims", lambda: x34().diagonal(0, 0, 0), RuntimeError, r"diagonal: dimensions cannot be identical"),
    ("view-shape", lambda: x34().view(5, -1), RuntimeError, r"view: shape \[5, -1\] is invalid for input of shape \[3, 4\]"),
    ("view-strides", lambda: x34().t().view(12), RuntimeError, r"view: size \[12\] is not compatible"),
    ("getitem-range", lambda: x34()[3], IndexError, r"index 3 is out of bounds for dimension 0 with size 3"),
    ("getitem-too-many", lambda: x34()[0, 0, 0], IndexError, r"too many indices for tensor of dimension 2"),
    ("getitem-negative-step", lambda: x34()[::-1], ValueError, r"step must be greater than zero"),
    ("getitem-zero-step", lambda: x34()[::0], ValueError, r"slice step cannot be zero"),
    ("getitem-two-ellipses", lambda: x34()[..., ...], IndexError, r"single ellipsis"),
    ("getitem-index-range", lambda: x34()[dl.tensor([5])], IndexError, r"index 5 is out of bounds for dimension 0 with size 3"),
    ("getitem-index-negative", lambda: x34()[dl.tensor([-4])], IndexError, r"index -4 is out of bounds"),
    ("getitem-float-index", lambda: x34()[dl.tensor([0.5])], IndexError, r"tensors used as indices must be long, int, byte or bool tensors"),
    ("index_select-range", lambda: dl.index_select(x34(), 0, dl.tensor([-1])), IndexError, r"index_select: index -1 is out of bounds"),
    ("cat-sizes", lambda: dl.cat([x34(), dl.randn(3, 5)]), RuntimeError,
     r"cat: sizes of tensors must match except in dimension 0, got \[3, 4\] and \[3, 5\] for tensor number 1"),
    ("cat-empty-list", lambda: dl.cat([]), ValueError, r"cat: expected a non-empty list of tensors"),
    ("cat-dim", lambda: dl.cat([x34(), x34()], 2), IndexError, r"cat: dimension out of range"),
    ("cat-0d", lambda: dl.cat([dl.tensor(1.0)]), RuntimeError, r"cat: zero-dimensional tensors cannot be concatenated"),
    ("stack-sizes", lambda: dl.stack([x34(), dl.randn(3, 5)]), RuntimeError,
     r"stack: expects each tensor to be equal size, but got \[3, 4\] at entry 0 and \[3, 5\] at entry 1"),
    ("stack-dim", lambda: dl.stack([x34(), x34()], 3), IndexError, r"stack: dimension out of range"),
    ("stride-dim", lambda: x34().stride(2), IndexError, r"stride: dimension out of range"),
    ("setitem-shape", lambda: x34().__setitem__(0, dl.zeros(5)), RuntimeError, r"copy_: shape mismatch"),
    ("copy_-into-expanded", lambda: dl.zeros(3, 1).expand(3, 4).copy_(dl.ones(3, 4)), RuntimeError,
     r"copy_: unsupported operation: more than one element"),
]


@pytest.mark.parametrize("call, error, pattern", [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS])
def test_bad_inputs_raise_torch_exception_types(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
