"""dlcore's CifarVGG is baseline_torch's CifarVGG: the same state-dict keys in the same order, the
same outputs and gradients from the same weights, and torchvision-VGG initialisation statistics."""
from __future__ import annotations

import math
import pathlib
import sys

import numpy as np
import pytest

import dlcore as dl
from dlcore.models import CifarVGG
from dlcore.nn import functional as F


def weights(model: CifarVGG) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def test_initialisation_follows_torchvision_vgg() -> None:
    dl.manual_seed(0)
    model = CifarVGG(width=32, batch_norm=False)
    w = weights(model)
    # features.10 is Conv2d(64 -> 128): fan_out = 128*9, 73728 draws put the sample std within 2%.
    assert w["features.10.weight"].std() == pytest.approx(math.sqrt(2.0 / (128 * 9)), rel=0.02)
    assert w["classifier.1.weight"].std() == pytest.approx(0.01, rel=0.02)  # 2048*256 draws
    assert all(np.all(w[k] == 0) for k in w if k.endswith(".bias"))
    assert sum(p.numel() for p in model.parameters()) == 814_122  # convs 287008 + linears 527114


def test_switches_change_the_layers() -> None:
    plain = CifarVGG(width=8, batch_norm=False)
    assert "features.0.bias" in plain.state_dict() and "features.1.running_mean" not in plain.state_dict()
    normed = CifarVGG(width=8, batch_norm=True, dropout=0.5)
    keys = list(normed.state_dict())
    assert "features.0.bias" not in keys and "features.1.running_var" in keys
    assert "classifier.4.weight" in keys  # Flatten, Linear, ReLU, Dropout, Linear
    with pytest.raises(ValueError, match="dropout"):
        CifarVGG(dropout=1.0)


torch = pytest.importorskip("torch")  # everything below compares with PyTorch


@pytest.fixture(scope="module")
def baseline_models():
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # baseline_torch sits at the root
    from baseline_torch import models
    return models


@pytest.mark.parametrize("batch_norm,dropout", [(True, 0.0), (False, 0.0), (True, 0.3)])
def test_torch_weights_load_and_give_the_same_outputs(baseline_models, batch_norm: bool, dropout: float) -> None:
    torch.manual_seed(0)
    reference = baseline_models.CifarVGG(baseline_models.CifarConfig(batch_norm=batch_norm, dropout=dropout, width=16))
    reference_state = reference.state_dict()
    model = CifarVGG(width=16, batch_norm=batch_norm, dropout=dropout)
    assert list(model.state_dict()) == list(reference_state)  # same names, same order
    model.load_state_dict({k: v.numpy() for k, v in reference_state.items()})

    x = np.random.default_rng(1).standard_normal((8, 3, 32, 32)).astype(np.float32)
    labels = np.arange(8) % 10
    reference.eval()
    model.eval()
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with dl.no_grad():
        got = model(dl.from_numpy(x)).numpy()
    # float32 through 8 layers: 1e-4 of the output's scale covers summation-order differences.
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())

    if dropout == 0.0:  # train mode (batch statistics) and gradients; dropout masks differ by design
        reference.train()
        model.train()
        torch_x = torch.from_numpy(x)
        torch_loss = torch.nn.functional.cross_entropy(reference(torch_x), torch.from_numpy(labels))
        torch_loss.backward()
        loss = F.cross_entropy(model(dl.from_numpy(x)), dl.from_numpy(labels))
        loss.backward()
        assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-4)
        first_conv = dict(model.named_parameters())["features.0.weight"].grad.numpy()
        expected_grad = reference.features[0].weight.grad.numpy()
        np.testing.assert_allclose(first_conv, expected_grad, rtol=1e-3, atol=1e-3 * np.abs(expected_grad).max())
