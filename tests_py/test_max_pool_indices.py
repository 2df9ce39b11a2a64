# max pooling's return_indices against torch (issue 9): F.max_pool2d / max_pool1d /
# adaptive_max_pool2d / max_pool2d_with_indices and the MaxPool layers return (values, indices) with
# torch's int64 flat indices, for padding, strides, ceil_mode, unbatched input and ties; values
# stay differentiable, and the gradient lands where the indices say.
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dlcore as dl
import dlcore.nn.functional as F
from dlcore import nn

torch = pytest.importorskip("torch")


def _pair(shape: tuple[int, ...], seed: int = 0, ties: bool = False) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 3, size=shape).astype(np.float32) if ties else rng.standard_normal(shape).astype(np.float32)
    return dl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


def _same(got: Any, want: Any) -> None:
    values, indices = got
    want_values, want_indices = want
    assert indices.dtype == dl.int64
    assert list(indices.shape) == list(want_indices.shape)
    np.testing.assert_array_equal(indices.numpy(), want_indices.numpy())
    np.testing.assert_array_equal(values.detach().numpy(), want_values.detach().numpy())


POOL2D = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((1, 2, 7, 9), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 1, 7, 7), dict(kernel_size=2, stride=2, ceil_mode=True)),
    ((2, 1, 6, 9), dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True)),
    ((3, 5, 5), dict(kernel_size=2)),
    ((2, 2, 6, 6), dict(kernel_size=3, stride=1)),
]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shape,kwargs", POOL2D)
def test_max_pool2d_indices_like_torch(shape: tuple[int, ...], kwargs: dict, ties: bool):
    x, tx = _pair(shape, ties=ties)
    got = F.max_pool2d(x, return_indices=True, **kwargs)
    want = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    _same(got, want)
    got[0].sum().backward()
    want[0].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_pool2d_with_indices_and_layer():
    x, tx = _pair((2, 3, 6, 6), seed=1)
    _same(F.max_pool2d_with_indices(x, 2), torch.nn.functional.max_pool2d_with_indices(tx, 2))
    layer, torch_layer = nn.MaxPool2d(3, 2, 1, return_indices=True), torch.nn.MaxPool2d(3, 2, 1, return_indices=True)
    _same(layer(x), torch_layer(tx))
    assert not isinstance(nn.MaxPool2d(2)(x), tuple)


@pytest.mark.parametrize("shape,kwargs", [((2, 3, 10), dict(kernel_size=3)), ((2, 3, 9), dict(kernel_size=2, ceil_mode=True)),
                                          ((3, 8), dict(kernel_size=2, stride=1, padding=1))])
def test_max_pool1d_indices_like_torch(shape: tuple[int, ...], kwargs: dict):
    x, tx = _pair(shape, seed=2)
    _same(F.max_pool1d(x, return_indices=True, **kwargs), torch.nn.functional.max_pool1d(tx, return_indices=True, **kwargs))
    _same(nn.MaxPool1d(return_indices=True, **kwargs)(x), torch.nn.MaxPool1d(return_indices=True, **kwargs)(tx))


@pytest.mark.parametrize("shape,size", [((2, 3, 8, 8), 4), ((1, 2, 7, 9), (3, 4)), ((2, 5, 6), (4, 5)), ((1, 1, 5, 5), 1)])
def test_adaptive_max_pool2d_indices_like_torch(shape: tuple[int, ...], size: Any):
    x, tx = _pair(shape, seed=3)
    got = F.adaptive_max_pool2d(x, size, return_indices=True)
    want = torch.nn.functional.adaptive_max_pool2d(tx, size, return_indices=True)
    _same(got, want)
    _same(nn.AdaptiveMaxPool2d(size, return_indices=True)(x), torch.nn.AdaptiveMaxPool2d(size, return_indices=True)(tx))
    got[0].sum().backward()
    want[0].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_pool2d_indices_on_bad_input_name_the_op():
    with pytest.raises(ValueError, match="max_pool2d_with_indices"):
        F.max_pool2d(dl.randn(2, 3, 1, 1), 3, return_indices=True)
