# Sizes past int64 at creation: shapes whose element or byte count overflows used to crash the
# interpreter or give a tensor with the wrong numel. Each must raise, naming the count: RuntimeError
# for a tensor that cannot be created (as torch), ValueError for an impossible view (as other
# invalid views in dlcore).
import pytest

import dlcore as dl

INT64_MAX = 2**63 - 1

CREATION_ERRORS = [
    ("ones-2^62", lambda: dl.ones(2**62), r"float32\[4611686018427387904\].*exceed 9223372036854775807 bytes"),
    ("zeros-int64-max", lambda: dl.zeros(INT64_MAX), r"9223372036854775807 elements of 4 bytes"),
    ("arange-2^62", lambda: dl.arange(2**62), r"exceed 9223372036854775807 bytes"),
    ("empty-2^31-squared", lambda: dl.empty(2**31, 2**31), r"4611686018427387904 elements"),
    ("rand-numel-overflow", lambda: dl.rand(2**61 + 1, 8), r"\[2305843009213693953, 8\] has more elements than int64"),
    ("randn-numel-overflow", lambda: dl.randn(2**32, 2**32), r"has more elements than int64"),
    ("zero-size-stride-overflow", lambda: dl.zeros(0, 2**40, 2**40), r"has more elements than int64"),
    ("full-2^62", lambda: dl.full((2**62,), 2.0), r"exceed 9223372036854775807 bytes"),
    ("uint8-out-of-memory", lambda: dl.empty(2**62, dtype=dl.uint8),
     r"out of memory: cannot allocate 4611686018427387904 bytes"),
]


@pytest.mark.parametrize("call,pattern", [c[1:] for c in CREATION_ERRORS], ids=[c[0] for c in CREATION_ERRORS])
def test_creation_past_int64_raises_runtime_error(call, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        call()


VIEW_ERRORS = [  # Tensor.view is reshape in dlcore, hence the op name in the messages
    ("view", lambda: dl.zeros(0).view(2**33, 2**31), r"shape \[8589934592, 2147483648\] is invalid for input of shape \[0\]"),
    ("view-inferred", lambda: dl.zeros(0).view(-1, 2**33, 2**31), r"shape \[-1, 8589934592, 2147483648\] is invalid"),
    ("reshape", lambda: dl.zeros(0).reshape(2**33, 2**31), r"reshape: shape \[8589934592, 2147483648\] is invalid"),
    ("reshape-zero-size-stride-overflow", lambda: dl.zeros(0).reshape(0, 2**40, 2**40), r"reshape: shape \[0, "),
]


@pytest.mark.parametrize("call,pattern", [c[1:] for c in VIEW_ERRORS], ids=[c[0] for c in VIEW_ERRORS])
def test_view_with_overflowing_shape_raises_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_arange_rejects_a_negative_end():
    with pytest.raises(ValueError, match=r"arange: upper bound and larger bound inconsistent with step sign"):
        dl.arange(-1)


def test_large_representable_empty_shapes_still_work():
    t = dl.zeros(0, 2**40)
    assert t.numel() == 0 and tuple(t.shape) == (0, 2**40)
    assert tuple(t.view(2**40, 0).shape) == (2**40, 0)
    assert dl.rand(3, 5).numel() == 15


def test_interpreter_survives_every_size_error():
    for _, call, _ in CREATION_ERRORS + VIEW_ERRORS:
        with pytest.raises((RuntimeError, ValueError)):
            call()
    assert dl.ones(4).sum().item() == 4.0
