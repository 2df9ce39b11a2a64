"""dl.nn.init: torch's fan and gain rules, the right statistics on large tensors, in-place and
seeded behaviour, and clear errors for tensors that cannot be initialised."""
from __future__ import annotations

import math

import numpy as np
import pytest

import dlcore as dl
from dlcore.nn import init


def values(t: dl.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


def test_fans_follow_torch_rules() -> None:
    assert init.calculate_fan_in_and_fan_out(dl.empty(128, 64, 3, 3)) == (64 * 9, 128 * 9)
    assert init.calculate_fan_in_and_fan_out(dl.empty(10, 400)) == (400, 10)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.calculate_fan_in_and_fan_out(dl.empty(7))


def test_gains() -> None:
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.0) == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("conv2d") == 1.0
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


# 256*128*3*3 = 294912 draws: the sample std is within ~0.3% of the true one (1 sigma ~0.13%),
# the sample mean within a few thousandths of a std; 2% and 0.01*std leave a wide margin.
@pytest.mark.parametrize("mode,fan", [("fan_in", 128 * 9), ("fan_out", 256 * 9)])
def test_kaiming_normal_statistics(mode: str, fan: int) -> None:
    dl.manual_seed(0)
    w = dl.nn.Conv2d(128, 256, 3).weight
    returned = init.kaiming_normal_(w, mode=mode, nonlinearity="relu")
    assert returned is w and w.requires_grad and w.is_leaf
    v = values(w)
    expected_std = math.sqrt(2.0 / fan)
    assert v.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(v.mean()) < 0.01 * expected_std
    # A normal puts 68.3% of its mass within one std; a uniform of this std would put 57.7%.
    assert np.mean(np.abs(v) < expected_std) == pytest.approx(0.683, abs=0.01)


def test_kaiming_uniform_bound_and_std() -> None:
    dl.manual_seed(1)
    w = dl.empty(512, 600)
    init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu")
    v = values(w)
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 600)
    assert v.min() >= -bound and v.max() <= bound
    assert v.max() > 0.99 * bound and v.min() < -0.99 * bound
    assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_normal_uniform_and_constants() -> None:
    dl.manual_seed(2)
    t = dl.empty(400, 500)
    init.normal_(t, mean=3.0, std=0.5)
    v = values(t)
    assert v.mean() == pytest.approx(3.0, abs=0.005) and v.std() == pytest.approx(0.5, rel=0.01)
    init.uniform_(t, -2.0, 6.0)
    v = values(t)
    assert v.min() >= -2.0 and v.max() <= 6.0 and v.mean() == pytest.approx(2.0, abs=0.02)
    assert np.all(values(init.zeros_(t)) == 0.0)
    assert np.all(values(init.ones_(t)) == 1.0)
    assert np.all(values(init.constant_(t, -0.25)) == -0.25)


def test_xavier_statistics() -> None:
    dl.manual_seed(3)
    t = dl.empty(300, 700)
    init.xavier_normal_(t)
    assert values(t).std() == pytest.approx(math.sqrt(2.0 / 1000), rel=0.02)
    init.xavier_uniform_(t, gain=2.0)
    assert np.abs(values(t)).max() <= 2.0 * math.sqrt(6.0 / 1000)


def test_same_seed_same_values_other_seed_other_values() -> None:
    def draw(seed: int) -> np.ndarray:
        dl.manual_seed(seed)
        return values(init.kaiming_normal_(dl.empty(32, 16, 3, 3), mode="fan_out"))

    assert np.array_equal(draw(5), draw(5))
    assert not np.allclose(draw(5), draw(6))


def test_init_is_not_recorded_by_autograd() -> None:
    layer = dl.nn.Linear(20, 5)
    init.normal_(layer.weight, 0.0, 0.01)
    assert layer.weight.grad_fn is None and layer.weight.is_leaf
    loss = layer(dl.randn(4, 20)).sum()
    loss.backward()
    assert layer.weight.grad is not None and layer.weight.grad.shape == (5, 20)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(dl.empty(4, 4), mode="fan_middle")
    with pytest.raises(ValueError, match="std"):
        init.normal_(dl.empty(4), std=-1.0)
    with pytest.raises(ValueError, match="float32"):
        init.normal_(dl.zeros(4, dtype=dl.int64))
    empty = dl.empty(0, 4)  # as in torch: nothing to fill, no division by a zero fan
    assert init.kaiming_uniform_(empty, mode="fan_out") is empty and init.kaiming_normal_(empty) is empty
