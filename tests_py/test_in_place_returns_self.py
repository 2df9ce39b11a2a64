# In-place methods return the tensor they were called on (issue 9): `x.add_(1) is x`, and `y += 1`
# leaves `y` the same object, so aliases and attributes on the Python object survive.
from __future__ import annotations

from typing import Any, Callable

import pytest

import dlcore as dl
from dlcore._inplace import in_place_method_names

CALLS: dict[str, Callable[[Any], Any]] = {
    "add_": lambda x: x.add_(1),
    "add_alpha": lambda x: x.add_(x, alpha=2),
    "sub_": lambda x: x.sub_(0.5),
    "mul_": lambda x: x.mul_(x),
    "div_": lambda x: x.div_(2),
    "pow_": lambda x: x.pow_(2),
    "clamp_": lambda x: x.clamp_(min=0),
    "exp_": lambda x: x.exp_(),
    "sigmoid_": lambda x: x.sigmoid_(),
    "zero_": lambda x: x.zero_(),
    "fill_": lambda x: x.fill_(3),
    "copy_": lambda x: x.copy_(dl.ones(2, 3)),
    "masked_fill_": lambda x: x.masked_fill_(x > 0, 0.0),
    "index_add_": lambda x: x.index_add_(0, dl.tensor([1]), dl.ones(1, 3)),
    "scatter_": lambda x: x.scatter_(1, dl.tensor([[0], [1]]), 5.0),
    "requires_grad_": lambda x: x.requires_grad_(),
    "detach_": lambda x: x.detach_(),
    "normal_": lambda x: x.normal_(),
    "uniform_": lambda x: x.uniform_(),
}


@pytest.mark.parametrize("case", list(CALLS))
def test_in_place_method_returns_self(case: str):
    x = dl.randn(2, 3)
    assert CALLS[case](x) is x


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_augmented_assignment_keeps_the_object(op: str):
    x = dl.ones(3)
    alias = y = x
    exec(f"y {op} 2", {}, scope := {"y": y})
    assert scope["y"] is alias
    assert alias.tolist() == {"+=": [3.0] * 3, "-=": [-1.0] * 3, "*=": [2.0] * 3, "/=": [0.5] * 3}[op]


def test_augmented_assignment_with_unsupported_operand_still_raises_type_error():
    x = dl.ones(3)
    with pytest.raises(TypeError):
        x += "one"


def test_every_compiled_in_place_method_is_rewrapped():
    # A new in-place binding is covered automatically: none may be left as pybind11's method.
    assert in_place_method_names(dl.Tensor) == []
    assert in_place_method_names.__module__ == "dlcore._inplace"
    for name in ("add_", "zero_", "__iadd__", "masked_fill_", "requires_grad_"):
        assert callable(dl.Tensor.__dict__[name]) and name in dir(dl.Tensor)


def test_in_place_on_parameter_returns_the_parameter():
    p = dl.nn.Parameter(dl.zeros(2))
    with dl.no_grad():
        assert p.add_(1) is p
    assert isinstance(p, dl.nn.Parameter)
