# Dtypes against PyTorch: promotion over every pair and every operand kind, factories with dtype=,
# conversions (and gradients through them), exact integers, range-checked Python data, and 16-bit
# floats in matmul-free arithmetic.
from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")

NAMES = ["bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


@pytest.mark.parametrize("a, b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_matches_torch(a, b):
    assert str(dl.promote_types(getattr(dl, a), getattr(dl, b))) == str(torch.promote_types(
        getattr(torch, a), getattr(torch, b))).replace("torch", "dlcore")


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("other", [2, 2.5, True, "0-d int64", "0-d float64", "0-d bool", "1-d float16"])
def test_result_type_of_tensors_and_numbers_matches_torch(a, other):
    x_d, x_t = dl.ones(3, dtype=getattr(dl, a)), torch.ones(3, dtype=getattr(torch, a))
    if isinstance(other, str):
        shape, name = other.split(" ")
        dims = () if shape == "0-d" else (3,)
        o_d, o_t = dl.ones(dims, dtype=getattr(dl, name)), torch.ones(dims, dtype=getattr(torch, name))
    else:
        o_d = o_t = other
    expected = str(torch.result_type(x_t, o_t)).replace("torch", "dlcore")
    assert str(dl.result_type(x_d, o_d)) == expected
    if expected != "dlcore.bool":  # arithmetic on two bools is outside dlcore's numeric ops
        assert str((x_d * o_d).dtype) == expected
        assert str((o_d * x_d).dtype) == expected


def test_aliases_and_dtype_properties():
    assert dl.float is dl.float32 and dl.double is dl.float64 and dl.half is dl.float16
    assert dl.long is dl.int64 and dl.int is dl.int32
    assert repr(dl.bfloat16) == "dlcore.bfloat16"
    assert dl.float16.is_floating_point and not dl.int64.is_floating_point
    assert dl.bfloat16.itemsize == 2 and dl.bool.itemsize == 1


@pytest.mark.parametrize("name", NAMES)
def test_factories_take_dtype(device, name):
    dtype = getattr(dl, name)
    for t in (dl.zeros(2, 3, dtype=dtype, device=device), dl.ones(2, 3, dtype=dtype, device=device),
              dl.empty(2, 3, dtype=dtype, device=device), dl.full((2, 3), 1, dtype=dtype, device=device)):
        assert t.dtype == dtype and t.shape == (2, 3)
    assert dl.ones(4, dtype=dtype, device=device).float().sum().item() == 4
    if dtype.is_floating_point:
        assert dl.rand(5, dtype=dtype).dtype == dtype and dl.randn(5, dtype=dtype).dtype == dtype
    else:
        with pytest.raises(TypeError, match="rand: expected a floating point dtype"):
            dl.rand(5, dtype=dtype)


def test_inferred_dtypes_follow_torch():
    assert dl.tensor(3).dtype == dl.int64 and dl.tensor(3.0).dtype == dl.float32 and dl.tensor(True).dtype == dl.bool
    assert dl.arange(5).dtype == dl.int64 and dl.arange(5.0).dtype == dl.float32
    assert dl.arange(1, 10, 3).tolist() == [1, 4, 7]
    assert dl.full((2,), 7).dtype == dl.int64 and dl.full((2,), 7.0).dtype == dl.float32
    assert dl.full((2,), False).dtype == dl.bool
    assert (dl.arange(4) / 2).dtype == dl.float32  # true division of integers
    assert (dl.arange(4) > 1).dtype == dl.bool
    assert dl.tensor([True, False, True]).sum().dtype == dl.int64
    assert dl.tensor([1, 2], dtype=dl.int32).sum().dtype == dl.int64


def test_integers_stay_exact_and_out_of_range_data_is_refused():
    assert dl.tensor([2**62 + 1]).item() == 2**62 + 1
    assert dl.full((1,), 2**62 + 1).item() == 2**62 + 1
    assert dl.arange(2**53, 2**53 + 3).tolist() == [2**53, 2**53 + 1, 2**53 + 2]
    with pytest.raises(OverflowError):
        dl.tensor(2**63)
    with pytest.raises(OverflowError):
        dl.tensor([2**64 - 1])
    with pytest.raises(RuntimeError, match="value cannot be converted to type uint8 without overflow"):
        dl.tensor(300, dtype=dl.uint8)
    with pytest.raises(RuntimeError, match="int32 without overflow"):
        dl.tensor([1, 2**40], dtype=dl.int32)
    with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
        int(dl.tensor(float("nan")))
    with pytest.raises(OverflowError):
        int(dl.tensor(float("inf")))
    assert int(dl.tensor(-2.7)) == -2 and float(dl.tensor(3)) == 3.0
    assert [10, 20, 30][dl.tensor(1)] == 20  # __index__ of an integer tensor


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float64"])
def test_autograd_across_dtype_conversions(name):
    dtype = getattr(dl, name)
    x = dl.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x.to(dtype) * 3).relu().float()
    y.backward(dl.ones(3))
    assert x.grad.dtype == dl.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 3.0])


def test_sixteen_bit_arithmetic_matches_torch():
    values = np.random.default_rng(0).standard_normal((4, 5))
    for name in ("float16", "bfloat16"):
        a_d, a_t = dl.tensor(values).to(getattr(dl, name)), torch.tensor(values).to(getattr(torch, name))
        got = ((a_d * 1.5 + a_d).sigmoid() - 0.25).float().numpy()
        want = ((a_t * 1.5 + a_t).sigmoid() - 0.25).float().numpy()
        np.testing.assert_array_equal(got, want)  # one rounding per op, as torch


def test_type_and_conversion_methods():
    x = dl.tensor([1.7, -2.2])
    assert x.long().tolist() == [1, -2] and x.int().dtype == dl.int32 and x.bool().tolist() == [True, True]
    assert x.double().dtype == dl.float64 and x.half().dtype == dl.float16 and x.bfloat16().dtype == dl.bfloat16
    assert x.type() == "dlcore.FloatTensor" and x.type(dl.int64).dtype == dl.int64
    assert x.to(dl.float64).dtype == dl.float64 and x.to("cpu", dl.int64).dtype == dl.int64
    assert x.to(dtype=dl.float16).dtype == dl.float16
    assert x.to(dl.tensor([1], dtype=dl.int32)).dtype == dl.int32  # to(other)
    assert x.is_floating_point() and x.element_size() == 4
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require gradients"):
        dl.tensor([1, 2]).requires_grad_()


@pytest.mark.parametrize("name, tol", [("float16", 2e-3), ("bfloat16", 1.6e-2)])
def test_sixteen_bit_matmul_linear_and_conv2d_match_torch(name, tol):
    import dlcore.nn.functional as F

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 8)), rng.standard_normal((8, 3))
    x, w, bias = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    dt, tt = getattr(dl, name), getattr(torch, name)
    as_dl = lambda v: dl.tensor(v, dtype=dl.float32).to(dt)  # noqa: E731
    as_t = lambda v: torch.tensor(v, dtype=torch.float32).to(tt)  # noqa: E731
    pairs = [
        (F.matmul(as_dl(a), as_dl(b)), as_t(a) @ as_t(b)),
        (F.linear(as_dl(a), as_dl(b.T.copy())), torch.nn.functional.linear(as_t(a), as_t(b.T.copy()))),
        (F.conv2d(as_dl(x), as_dl(w), as_dl(bias), padding=1),
         torch.nn.functional.conv2d(as_t(x), as_t(w), as_t(bias), padding=1)),
    ]
    for got, want in pairs:
        assert got.dtype == dt
        np.testing.assert_allclose(got.float().numpy(), want.float().numpy(), rtol=tol, atol=tol * 4)
    # A float32 leaf, 16-bit compute, float32 gradients (mixed precision's pattern).
    leaf = dl.tensor(a, dtype=dl.float32, requires_grad=True)
    F.matmul(leaf.to(dt), as_dl(b)).float().sum().backward()
    assert leaf.grad.dtype == dl.float32
    np.testing.assert_allclose(leaf.grad.numpy(), np.tile(b.sum(1), (5, 1)), rtol=tol * 4, atol=tol * 4)
    with pytest.raises(ValueError, match="matmul: expected all operands to be"):
        F.matmul(as_dl(a), dl.tensor(b, dtype=dl.float32))
