"""Inputs that used to crash, hang or misreport (issue 11's probes): each now gives a Python result
or a clear exception, and the interpreter survives."""
import threading

import numpy as np
import pytest

import dlcore as dl
import dlcore.nn.functional as F
from dlcore import nn


def test_max_pool_of_an_empty_plane_is_refused():
    # a window of a 0x0 plane holds padding only; torch refuses such input as well (it used to
    # produce -inf windows whose backward wrote out of bounds)
    with pytest.raises(ValueError, match=r"max_pool2d: expected non-zero channels, height and width.*\[1, 1, 0, 0\]"):
        F.max_pool2d(dl.randn(1, 1, 0, 0, requires_grad=True), 2, padding=1)
    with pytest.raises(ValueError, match=r"avg_pool2d: expected non-zero"):
        F.avg_pool2d(dl.randn(1, 0, 4, 4), 2)


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_batch_norm_of_an_empty_batch(training):
    bn = nn.BatchNorm2d(3).train(training)
    x = dl.zeros(0, 3, 4, 4, requires_grad=True)
    if training:  # torch: "Expected more than 1 value per channel when training"
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            bn(x)
        return
    y = bn(x)  # used to divide by zero (SIGFPE) in the CPU kernels' work split
    y.sum().backward()
    assert y.shape == (0, 3, 4, 4) and x.grad.shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(bn.weight.grad.numpy(), np.zeros(3, np.float32))


def test_none_child_is_skipped_by_traversals_and_refused_by_forward():
    seq = nn.Sequential(nn.ReLU())
    seq.add_module("gap", None)
    assert [name for name, _ in seq.named_modules()] == ["", "0"]
    assert len(list(seq.children())) == 1 and len(seq.state_dict()) == 0
    with pytest.raises(ValueError, match="Sequential: submodule 'gap' is None"):
        seq(dl.ones(2))


def test_module_cycles_end():
    a, b = nn.Module(), nn.Linear(2, 2)
    a.add_module("b", b)
    b.add_module("a", a)
    assert [name for name, _ in a.named_modules()] == ["", "b"]
    assert len(list(a.parameters())) == 2
    assert list(a.state_dict()) == ["b.weight", "b.bias"]  # torch recurses until RecursionError here
    a.eval()
    assert not a.training and not b.training
    me = nn.Module()
    me.add_module("me", me)
    assert list(me.parameters()) == [] and [name for name, _ in me.named_modules()] == [""]


def test_shared_submodule_is_listed_once_but_saved_under_each_name():
    shared, parent = nn.Linear(2, 2), nn.Module()
    parent.x = shared
    parent.y = shared
    assert [name for name, _ in parent.named_parameters()] == ["x.weight", "x.bias"]  # as torch
    assert list(parent.state_dict()) == ["x.weight", "x.bias", "y.weight", "y.bias"]  # as torch
    assert [name for name, _ in parent.named_children()] == ["x"]


def test_training_attribute_sets_only_that_module():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.training = False  # torch: an attribute of this module only; eval() recurses
    assert not model.training and model[1].training
    model.eval()
    assert not model[1].training


def test_sizes_of_the_wrong_type_name_the_op_and_position():
    with pytest.raises(TypeError, match=r"ones\(\): argument 'size' must be a tuple of ints, but found element of type str at pos 0"):
        dl.ones("3")
    with pytest.raises(TypeError, match=r"zeros\(\): .*element of type float at pos 1"):
        dl.zeros(2, 3.0)
    assert dl.ones(size=(2, 3)).shape == (2, 3) and dl.zeros(dl.tensor(3)).shape == (3,)


def test_set_num_threads_is_process_wide():
    before = dl.get_num_threads()
    try:
        dl.set_num_threads(1)
        seen = []
        worker = threading.Thread(target=lambda: seen.append(dl.get_num_threads()))
        worker.start()
        worker.join()
        assert seen == [1]
    finally:
        dl.set_num_threads(before)
