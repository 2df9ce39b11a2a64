# Python's integer and bit operators on dlcore.Tensor (// % & | ^ << >> ~ and their reflected and
# in-place forms) against torch over dtypes, with tensors and Python numbers on either side: the
# same values, result dtypes and exceptions (float bit operations raise NotImplementedError, ~ of a
# float tensor TypeError, an in-place result that does not fit self's dtype RuntimeError).
from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")

BINARY = {"//": (operator.floordiv, operator.ifloordiv), "%": (operator.mod, operator.imod),
          "&": (operator.and_, operator.iand), "|": (operator.or_, operator.ior), "^": (operator.xor, operator.ixor),
          "<<": (operator.lshift, operator.ilshift), ">>": (operator.rshift, operator.irshift)}
DTYPES = ["int64", "int32", "uint8", "bool", "float32", "float64"]
NUMBERS = [3, -2, 2.5, True]
# Left operands, and right ones without zeros (an integer zero divisor raises; tested in
# test_op_table.py); negative shift amounts are defined (0 to the left, the sign to the right).
LEFT = np.array([[5, -7, 3], [6, -1, 0]])
RIGHT = np.array([[2, 3, -2], [1, 4, 5]])


def pair(values: np.ndarray, dtype: str) -> tuple[dl.Tensor, Any]:
    if dtype == "bool":
        values = values % 2 == 1
    elif dtype == "uint8":
        values = np.abs(values)
    elif dtype.startswith("float"):
        values = values * 1.25
    return dl.tensor(values, dtype=getattr(dl, dtype)), torch.tensor(values).to(getattr(torch, dtype))


def same_result(fn: Callable[[Any, Any], Any], a: tuple, b: tuple, context: str) -> None:
    """fn on the dlcore operands and on the torch ones: equal values and dtypes, or the same exception."""
    try:
        expected = fn(a[1], b[1])
    except (RuntimeError, TypeError) as error:
        with pytest.raises(type(error)):
            fn(a[0], b[0])
        return
    actual = fn(a[0], b[0])
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], context
    np.testing.assert_allclose(np.asarray(actual.numpy(), dtype=np.float64), expected.double().numpy(),
                               rtol=1e-6, err_msg=context)


@pytest.mark.parametrize("symbol", list(BINARY))
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_operators_match_torch(symbol, dtype):
    fn = BINARY[symbol][0]
    left, right = pair(LEFT, dtype), pair(RIGHT, dtype)
    same_result(fn, left, right, f"x {symbol} y ({dtype})")
    for other_dtype in ("int64", "float32"):  # mixed dtypes promote
        same_result(fn, left, pair(RIGHT, other_dtype), f"{dtype} {symbol} {other_dtype}")
    for number in NUMBERS:
        same_result(fn, left, (number, number), f"x {symbol} {number!r} ({dtype})")
        same_result(fn, (number, number), left, f"{number!r} {symbol} x ({dtype})")


@pytest.mark.parametrize("symbol", list(BINARY))
@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_operators_write_into_self_like_torch(symbol, dtype):
    fn = BINARY[symbol][1]
    for other in [pair(RIGHT, dtype), pair(RIGHT, "int64")] + [(n, n) for n in NUMBERS]:
        left = pair(LEFT, dtype)
        address = left[0].data_ptr()
        try:
            expected = fn(left[1], other[1])
        except (RuntimeError, TypeError) as error:
            with pytest.raises(type(error)):
                fn(left[0], other[0])
            continue
        result = fn(left[0], other[0])
        context = f"x {symbol}= {other[1]!r} ({dtype})"
        assert result.data_ptr() == address and result.dtype == left[0].dtype, context
        np.testing.assert_allclose(np.asarray(result.numpy(), dtype=np.float64), expected.double().numpy(),
                                   rtol=1e-6, err_msg=context)


@pytest.mark.parametrize("dtype", DTYPES)
def test_invert_matches_torch(dtype):
    d, t = pair(LEFT, dtype)
    same_result(lambda a, _: ~a, (d, t), (None, None), f"~x ({dtype})")


def test_operator_errors_name_the_op():
    x = dl.tensor([1.5, 2.0])
    with pytest.raises(NotImplementedError, match=r"bitwise_and: not implemented for float32"):
        x & 1
    with pytest.raises(NotImplementedError, match=r"bitwise_left_shift: not implemented for float32"):
        1 << x
    with pytest.raises(TypeError, match=r"~ \(operator.invert\) is only implemented on integer and bool tensors"):
        ~x
    i = dl.tensor([4, 5])
    with pytest.raises(RuntimeError, match="floor_divide_: result type float32 can't be cast"):
        i //= 0.5
    with pytest.raises(RuntimeError, match="remainder: ZeroDivisionError"):
        i % 0
    assert (x == None) is False  # noqa: E711  (None still gives NotImplemented, so == is False)
