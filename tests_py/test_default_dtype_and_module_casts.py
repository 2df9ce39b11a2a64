# dl.set_default_dtype / dl.get_default_dtype against torch (issue 9): which dtypes are accepted and
# the TypeError for the rest, and the dtype every factory and dl.tensor() inference gives under each
# default; then Module.half/float/double/bfloat16 (buffers cast, self returned; parameters stay
# float32, the engine's rule, so a conversion that would change one raises NotImplementedError).
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import dlcore as dl
from dlcore import nn

torch = pytest.importorskip("torch")

FLOATING = ["float16", "bfloat16", "float32", "float64"]


@pytest.fixture(autouse=True)
def restore_default_dtype():
    """Every test leaves both frameworks' default dtype as it found it."""
    before_dl, before_torch = dl.get_default_dtype(), torch.get_default_dtype()
    yield
    dl.set_default_dtype(before_dl)
    torch.set_default_dtype(before_torch)


def _name(dtype: Any) -> str:
    return str(dtype).split(".")[-1]


def test_default_is_float32():
    assert dl.get_default_dtype() == dl.float32 == dl.float
    assert dl.tensor([1.0]).dtype == dl.float32


@pytest.mark.parametrize("name", FLOATING)
def test_set_default_dtype_accepts_floating(name: str):
    dl.set_default_dtype(getattr(dl, name))
    torch.set_default_dtype(getattr(torch, name))
    assert _name(dl.get_default_dtype()) == _name(torch.get_default_dtype()) == name


@pytest.mark.parametrize("bad", ["int64", "int32", "uint8", "bool"])
def test_set_default_dtype_rejects_non_floating(bad: str):
    with pytest.raises(TypeError) as torch_error:
        torch.set_default_dtype(getattr(torch, bad))
    with pytest.raises(TypeError) as dl_error:
        dl.set_default_dtype(getattr(dl, bad))
    assert str(dl_error.value) == str(torch_error.value)
    assert dl.get_default_dtype() == dl.float32


@pytest.mark.parametrize("bad", [None, "float64", 3, np.float64])
def test_set_default_dtype_rejects_non_dtypes(bad: Any):
    with pytest.raises(TypeError) as torch_error:
        torch.set_default_dtype(bad)
    with pytest.raises(TypeError) as dl_error:
        dl.set_default_dtype(bad)
    assert str(dl_error.value) == str(torch_error.value)


# Each case builds the same tensor in both frameworks (`m` is the module: torch or dlcore).
FACTORY_CASES: dict[str, Callable[[Any], Any]] = {
    "zeros": lambda m: m.zeros(2, 3),
    "zeros_size_kw": lambda m: m.zeros(size=(2,)),
    "ones": lambda m: m.ones((2,)),
    "empty": lambda m: m.empty(3),
    "rand": lambda m: m.rand(4),
    "randn": lambda m: m.randn(2, 2),
    "full_float": lambda m: m.full((2,), 1.5),
    "full_int": lambda m: m.full((2,), 3),
    "full_bool": lambda m: m.full((2,), True),
    "full_explicit": lambda m: m.full((2,), 1.5, dtype=m.float32),
    "arange_int": lambda m: m.arange(5),
    "arange_float_end": lambda m: m.arange(5.0),
    "arange_float_step": lambda m: m.arange(0, 2, 0.25),
    "arange_explicit": lambda m: m.arange(0.0, 3.0, dtype=m.int64),
    "linspace": lambda m: m.linspace(0, 1, 5),
    "logspace": lambda m: m.logspace(0, 2, 3),
    "eye": lambda m: m.eye(3),
    "randn_explicit": lambda m: m.randn(3, dtype=m.float32),
    "tensor_floats": lambda m: m.tensor([[1.0, 2.5], [3.0, 4.0]]),
    "tensor_scalar": lambda m: m.tensor(0.1),
    "tensor_mixed": lambda m: m.tensor([1, 2.0]),
    "tensor_bool_float": lambda m: m.tensor([True, 1.5]),
    "tensor_ints": lambda m: m.tensor([1, 2]),
    "tensor_bools": lambda m: m.tensor([True, False]),
    "tensor_empty": lambda m: m.tensor([]),
    "tensor_empty_nested": lambda m: m.tensor([[]]),
    "tensor_np_float32_scalar": lambda m: m.tensor([np.float32(1.5)]),
    "tensor_np_float64_scalar": lambda m: m.tensor([np.float64(1.5)]),
    "tensor_np_float32_with_float": lambda m: m.tensor([np.float32(1.5), 2.5]),
    "tensor_np_int_scalars": lambda m: m.tensor([np.int32(1), 2]),
    "tensor_ndarray": lambda m: m.tensor(np.array([0.5, 1.5], dtype=np.float32)),
    "tensor_explicit": lambda m: m.tensor([1.0], dtype=m.float32),
    "tensor_half_tensor_and_int": lambda m: m.tensor([m.tensor(1.0, dtype=m.float16), 2]),
    "as_tensor_floats": lambda m: m.as_tensor([1.0, 2.0]),
}


@pytest.mark.parametrize("default", FLOATING)
@pytest.mark.parametrize("case", list(FACTORY_CASES))
def test_factories_follow_default_dtype_like_torch(case: str, default: str):
    dl.set_default_dtype(getattr(dl, default))
    torch.set_default_dtype(getattr(torch, default))
    want, got = FACTORY_CASES[case](torch), FACTORY_CASES[case](dl)
    assert _name(got.dtype) == _name(want.dtype), f"{case} under {default}: dlcore {got.dtype}, torch {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape)
    if not case.startswith(("empty", "rand")):
        # Same values to the last bit of the dtype (both compute in double, then round once).
        np.testing.assert_array_equal(got.to(dl.float64).numpy(), want.to(torch.float64).numpy())


# Ops whose result dtype comes from the default: an integer or bool tensor meeting a Python float,
# and integer inputs of floating ops; a float tensor keeps its own dtype whatever the default.
PROMOTION_CASES: dict[str, Callable[[Any], Any]] = {
    "int_times_float": lambda m: m.arange(3) * 1.5,
    "float_plus_int": lambda m: 0.5 + m.arange(3),
    "int_true_divide": lambda m: m.arange(4) / 2,
    "int_div_int": lambda m: m.div(m.arange(4), m.arange(1, 5)),
    "exp_int": lambda m: m.exp(m.arange(3)),
    "sqrt_bool": lambda m: m.sqrt(m.tensor([True, False])),
    "bool_plus_float": lambda m: m.tensor([True, False]) + 0.25,
    "float32_times_float": lambda m: m.ones(2, dtype=m.float32) * 1.5,
    "half_plus_float": lambda m: m.ones(2, dtype=m.float16) + 0.5,
    "int_plus_int": lambda m: m.arange(3) + 1,
    "where_int_float": lambda m: m.where(m.tensor([True, False]), m.arange(2), 0.5),
}


@pytest.mark.parametrize("default", FLOATING)
@pytest.mark.parametrize("case", list(PROMOTION_CASES))
def test_python_floats_and_floating_ops_promote_to_default_dtype_like_torch(case: str, default: str):
    dl.set_default_dtype(getattr(dl, default))
    torch.set_default_dtype(getattr(torch, default))
    want, got = PROMOTION_CASES[case](torch), PROMOTION_CASES[case](dl)
    assert _name(got.dtype) == _name(want.dtype), f"{case} under {default}: dlcore {got.dtype}, torch {want.dtype}"
    np.testing.assert_allclose(got.to(dl.float64).numpy(), want.to(torch.float64).numpy(), rtol=1e-3)


@pytest.mark.parametrize("default", FLOATING)
def test_result_type_uses_default_dtype_like_torch(default: str):
    dl.set_default_dtype(getattr(dl, default))
    torch.set_default_dtype(getattr(torch, default))
    assert _name(dl.result_type(dl.arange(2), 1.5)) == _name(torch.result_type(torch.arange(2), 1.5)) == default
    assert _name(dl.result_type(dl.tensor([True]), 2.0)) == default


def test_float64_default_keeps_python_floats_exact():
    dl.set_default_dtype(dl.float64)
    assert dl.tensor([0.1, 1 / 3]).tolist() == [0.1, 1 / 3]
    assert dl.tensor(0.1).item() == 0.1
    assert dl.full((2,), 0.1).tolist() == [0.1, 0.1]
    assert dl.arange(0, 1, 0.1).tolist() == torch.arange(0, 1, 0.1, dtype=torch.float64).tolist()


def test_explicit_float64_list_is_exact_under_float32_default():
    # An explicit dtype reads Python floats at double precision, not through float32.
    assert dl.tensor([0.1], dtype=dl.float64).tolist() == [0.1]


def test_tensor_keeps_requires_grad_and_device():
    dl.set_default_dtype(dl.float64)
    t = dl.tensor([1.0, 2.0], requires_grad=True, device="cpu")
    assert t.requires_grad and t.dtype == dl.float64 and str(t.device) == "cpu"
    (t * t).sum().backward()
    assert t.grad.tolist() == [2.0, 4.0]


def test_float64_default_trains_a_float64_graph():
    # A ported script that sets float64 and builds its inputs from factories computes in float64.
    dl.set_default_dtype(dl.float64)
    dl.manual_seed(0)
    x = dl.randn(4, 3, requires_grad=True)
    y = (x * dl.tensor([1.0, 2.0, 3.0])).sum()
    y.backward()
    assert y.dtype == dl.float64 and x.grad.dtype == dl.float64
    assert x.grad.tolist() == [[1.0, 2.0, 3.0]] * 4


def test_to_tensor_scales_uint8_into_default_dtype():
    from dlcore.vision import functional as F
    image = (np.arange(24, dtype=np.uint8) * 10).reshape(2, 4, 3)
    for name in FLOATING:
        dl.set_default_dtype(getattr(dl, name))
        torch.set_default_dtype(getattr(torch, name))
        got = F.to_tensor(image)
        # torchvision: from_numpy(...).to(default).div(255)
        want = torch.from_numpy(image.transpose(2, 0, 1).copy()).to(torch.get_default_dtype()).div(255)
        assert _name(got.dtype) == name
        np.testing.assert_array_equal(got.to(dl.float64).numpy(), want.to(torch.float64).numpy())


def test_default_dtype_leaves_layers_float32():
    # Parameters are float32 in dlcore (the engine's rule); torch would create float64 weights here.
    dl.set_default_dtype(dl.float64)
    layer = nn.Linear(3, 2)
    assert layer.weight.dtype == dl.float32
    assert layer(dl.randn(2, 3).float()).dtype == dl.float32


# ---- Module.half / float / double / bfloat16 ----

class _Buffers(nn.Module):
    """A module with floating, integer and non-persistent buffers and no parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", dl.tensor(np.array([0.5, 1.5, 2.5], dtype=np.float32)))
        self.register_buffer("count", dl.tensor([1, 2]))
        self.register_buffer("scratch", dl.ones(2), persistent=False)


class _TorchBuffers(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(np.array([0.5, 1.5, 2.5], dtype=np.float32)))
        self.register_buffer("count", torch.tensor([1, 2]))
        self.register_buffer("scratch", torch.ones(2), persistent=False)


@pytest.mark.parametrize("method", ["half", "float", "double", "bfloat16"])
def test_module_casts_buffers_like_torch(method: str):
    dl_module, torch_module = _Buffers(), _TorchBuffers()
    assert getattr(dl_module, method)() is dl_module
    assert getattr(torch_module, method)() is torch_module
    got, want = dict(dl_module.named_buffers()), dict(torch_module.named_buffers())
    assert list(got) == list(want)
    for name in want:
        assert _name(got[name].dtype) == _name(want[name].dtype), name
        np.testing.assert_array_equal(got[name].to(dl.float64).numpy(), want[name].to(torch.float64).numpy())
    assert list(dl_module.state_dict()) == list(torch_module.state_dict()) == ["scale", "count"]


def test_module_cast_round_trip_and_to_dtype():
    module = _Buffers()
    assert module.double().float() is module and module.scale.dtype == dl.float32
    assert module.to(dl.float64) is module and module.scale.dtype == dl.float64
    assert module.to(dtype=dl.float16).scale.dtype == dl.float16
    with pytest.raises(TypeError, match="floating point"):
        module.to(dl.int64)


def test_module_float_on_parameters_is_a_no_op_returning_self():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    weight = net[0].weight
    assert net.float() is net and net[0].weight.dtype == dl.float32
    with dl.no_grad():
        weight.fill_(0.25)  # still the registered parameter: no copy was made
    assert net[0].weight.tolist() == [[0.25] * 3] * 4


@pytest.mark.parametrize("method", ["half", "double", "bfloat16"])
def test_module_cast_of_parameters_says_parameters_are_float32(method: str):
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with pytest.raises(NotImplementedError, match="float32"):
        getattr(net, method)()
    # Nothing was half-converted.
    assert net[0].weight.dtype == dl.float32 and net[1].running_mean.dtype == dl.float32
