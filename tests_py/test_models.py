"""dlcore.models' ResNets and VGGs are torchvision's: the same state-dict keys, shapes and parameter
counts, state dicts that move both ways with the same outputs, the same SGD step (batch-norm batch
statistics included), torchvision's initialisation, and get_model / list_models. The torch side is
baseline_torch/vision_models.py, written from torch.nn layers (torchvision is not needed)."""
from __future__ import annotations

import math
import pathlib
import sys

import numpy as np
import pytest

import dlcore as dl
from dlcore import models
from dlcore.nn import functional as F

torch = pytest.importorskip("torch")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # baseline_torch sits at the root
from baseline_torch.vision_models import build_vision_model  # noqa: E402


def dl_model(name: str, variant: str, num_classes: int = 1000):
    option = "stem" if name.startswith("resnet") else "head"
    return models.get_model(name, num_classes=num_classes, **{option: variant})


def dl_state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def torch_state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}  # a copy: steps move the live ones


def shapes(state: dict[str, np.ndarray]) -> list[tuple[str, tuple]]:
    return [(k, tuple(v.shape)) for k, v in state.items()]


@pytest.mark.parametrize("name,parameters", [("resnet18", 11_689_512), ("resnet34", 21_797_672),
                                             ("resnet50", 25_557_032), ("resnet101", 44_549_160)])
def test_keys_shapes_and_parameter_counts_are_torchvisions(name: str, parameters: int) -> None:
    # The counts are torchvision's published ones for its 1000-class models. (The VGGs' keys and shapes
    # are checked by the strict state-dict loads below: building a 133 M-parameter VGG takes seconds.)
    model = models.get_model(name)
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert shapes(dl_state(model)) == shapes(torch_state(build_vision_model(name)))  # same order too


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg16_bn"])
def test_cifar_variants_keep_the_keys(name: str) -> None:
    variant = "stem" if name.startswith("resnet") else "head"
    cifar = dl_state(models.get_model(name, num_classes=10, **{variant: "cifar"}))
    assert shapes(cifar) == shapes(torch_state(build_vision_model(name, 10, "cifar")))
    if name.startswith("resnet"):  # only conv1 changes: 7x7 -> 3x3
        imagenet = dl_state(models.get_model(name, num_classes=10))
        assert [k for k in imagenet if imagenet[k].shape != cifar[k].shape] == ["conv1.weight"]
        assert cifar["conv1.weight"].shape == (64, 3, 3, 3)
    else:
        assert cifar["classifier.weight"].shape == (10, 512)


def randomise_batch_norm(model) -> None:
    """Non-trivial affine parameters and running statistics, so eval-mode outputs depend on them."""
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.normal_(0.0, 0.1, generator=generator)
                m.running_mean.normal_(0.0, 0.1, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)


def assert_outputs_match(got: np.ndarray, expected: np.ndarray) -> None:
    # float32 through up to 50 layers: 1e-4 of the output's scale covers summation-order differences.
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


CASES = [("resnet18", "imagenet", 64), ("resnet18", "cifar", 32), ("resnet50", "imagenet", 64),
         ("vgg11_bn", "imagenet", 64), ("vgg16_bn", "cifar", 32), ("vgg11", "cifar", 32)]


@pytest.mark.parametrize("name,variant,size", CASES)
def test_state_dicts_move_both_ways_with_the_same_outputs(name: str, variant: str, size: int, device: str,
                                                          one_torch_thread: None) -> None:
    if device == "cuda" and (name, variant) not in [("resnet18", "cifar"), ("vgg11", "cifar")]:
        pytest.skip("on CUDA the two CIFAR nets cover the kernels; the big ones would take minutes emulated")
    x = np.random.default_rng(1).standard_normal((2, 3, size, size)).astype(np.float32)
    torch.manual_seed(0)
    reference = build_vision_model(name, 10, variant).eval()
    randomise_batch_norm(reference)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()

    model = dl_model(name, variant, 10)  # torch -> numpy -> dlcore
    model.load_state_dict(torch_state(reference))
    model = model.to(device).eval()
    with dl.no_grad():
        assert_outputs_match(model(dl.tensor(x, device=device)).cpu().numpy(), expected)

    back = build_vision_model(name, 10, variant).eval()  # dlcore -> numpy -> torch, into a fresh net
    back.load_state_dict({k: torch.from_numpy(v) for k, v in dl_state(model).items()})
    for (key, value), original in zip(back.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(value, original), key
    with torch.no_grad():
        np.testing.assert_array_equal(back(torch.from_numpy(x)).numpy(), expected)


def on_the_emulator(device: str) -> bool:
    return device == "cuda" and "emulator" in dl.cuda.get_device_name(0)


def assert_one_sgd_step_matches(reference, model, device: str, x: np.ndarray, loss_fn) -> None:
    """One SGD step (momentum, weight decay) of ``reference`` (torch) and ``model`` (dlcore, holding the
    same weights) in train mode on ``x``: the same loss, parameter updates and running statistics."""
    reference.train()
    model = model.to(device).train()
    before = torch_state(reference)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    torch_loss = loss_fn(reference(torch.from_numpy(x)), torch)
    torch_loss.backward()
    torch_optimizer.step()
    optimizer = dl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    loss = loss_fn(model(dl.tensor(x, device=device)), dl)
    loss.backward()
    optimizer.step()

    assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-4)
    after, expected_after = dl_state(model), torch_state(reference)
    assert list(after) == list(expected_after)
    for key, expected in expected_after.items():
        if key.endswith("num_batches_tracked"):
            assert int(after[key]) == int(expected) == 1, key
            continue
        # The change each step made (the SGD update, or the running statistics' move toward the
        # batch's): gradients through ~20 float32 layers agree to ~1e-4 of their scale.
        change, expected_change = after[key] - before[key], expected - before[key]
        np.testing.assert_allclose(change, expected_change, rtol=1e-3, atol=2e-3 * np.abs(expected_change).max() + 1e-7,
                                   err_msg=key)


@pytest.mark.parametrize("name", ["resnet18", "vgg11_bn"])
def test_one_sgd_step_in_train_mode_matches_torch(name: str, device: str, one_torch_thread: None) -> None:
    if on_the_emulator(device):  # its train-mode batch norm costs ~9 ms per channel: ~2 min a step here
        pytest.skip("a whole-net step takes minutes on the CUDA emulator; test_one_block_... covers it there")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, 4)
    torch.manual_seed(0)
    reference = build_vision_model(name, 10, "cifar")
    model = dl_model(name, "cifar", 10)
    model.load_state_dict(torch_state(reference))
    assert_one_sgd_step_matches(reference, model, device, x,
                                lambda out, lib: lib.nn.functional.cross_entropy(out, lib.tensor(labels)))


@pytest.mark.parametrize("block", ["BasicBlock", "Bottleneck"])
def test_one_block_with_downsample_trains_like_torch(block: str, device: str, one_torch_thread: None) -> None:
    # A strided block with its downsample branch: the residual paths of every ResNet, small enough for
    # the CUDA emulator (64 -> 128 channels, or 64 -> 16 -> 64 for the bottleneck).
    from baseline_torch import vision_models

    planes = 128 if block == "BasicBlock" else 16
    out_channels = planes * getattr(models, block).expansion
    torch.manual_seed(0)
    downsample = torch.nn.Sequential(torch.nn.Conv2d(64, out_channels, 1, 2, bias=False), torch.nn.BatchNorm2d(out_channels))
    reference = getattr(vision_models, block)(64, planes, 2, downsample)
    randomise_batch_norm(reference)
    model = getattr(models, block)(64, planes, 2, dl.nn.Sequential(dl.nn.Conv2d(64, out_channels, 1, 2, bias=False),
                                                                   dl.nn.BatchNorm2d(out_channels)))
    model.load_state_dict(torch_state(reference))
    x = np.random.default_rng(3).standard_normal((2, 64, 8, 8)).astype(np.float32)
    weights = np.random.default_rng(4).standard_normal((2, out_channels, 4, 4)).astype(np.float32)
    assert_one_sgd_step_matches(reference, model, device, x,
                                lambda out, lib: (out * lib.tensor(weights, device=out.device)).sum())


def test_initialisation_is_torchvisions() -> None:
    dl.manual_seed(0)
    state = dl_state(models.resnet50())
    # layer3.0.conv2: 256 -> 256, 3x3; He-normal fan_out = 256*9; 589824 draws put the std within 1%.
    assert state["layer3.0.conv2.weight"].std() == pytest.approx(math.sqrt(2.0 / (256 * 9)), rel=0.01)
    assert state["conv1.weight"].std() == pytest.approx(math.sqrt(2.0 / (64 * 49)), rel=0.02)  # 9408 draws
    bn = [k[: -len(".weight")] for k in state if k.endswith(".weight") and k[: -len(".weight")] + ".running_var" in state]
    assert len(bn) == 53 and all(np.all(state[k + ".weight"] == 1) and np.all(state[k + ".bias"] == 0) for k in bn)
    bound = 1 / math.sqrt(2048)  # fc keeps Linear's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(state["fc.weight"]).max() <= bound and state["fc.weight"].std() == pytest.approx(bound / math.sqrt(3), rel=0.01)

    vgg = dl_state(models.vgg11_bn(head="cifar", num_classes=10))
    assert vgg["features.0.weight"].std() == pytest.approx(math.sqrt(2.0 / (64 * 9)), rel=0.05)  # 1728 draws
    assert vgg["classifier.weight"].std() == pytest.approx(0.01, rel=0.05)  # 5120 draws
    assert all(np.all(vgg[k] == 0) for k in vgg if k.endswith(".bias"))


@pytest.mark.parametrize("name,last_norm", [("resnet18", "bn2"), ("resnet50", "bn3")])
def test_zero_init_residual_zeroes_each_blocks_last_norm(name: str, last_norm: str) -> None:
    state = dl_state(models.get_model(name, zero_init_residual=True))
    blocks = sorted({k.rsplit(".", 2)[0] for k in state if k.startswith("layer") and ".downsample." not in k})
    assert len(blocks) == (8 if name == "resnet18" else 16)
    for block in blocks:
        assert np.all(state[f"{block}.{last_norm}.weight"] == 0), block
        assert np.all(state[f"{block}.bn1.weight"] == 1), block  # only the last one
    assert np.all(state["bn1.weight"] == 1) and np.all(state["layer2.0.downsample.1.weight"] == 1)
    plain = dl_state(models.get_model(name))
    assert np.all(plain[f"layer1.0.{last_norm}.weight"] == 1)


def test_get_model_and_list_models() -> None:
    assert models.list_models() == ["resnet101", "resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn", "vgg16",
                                    "vgg16_bn"]
    assert models.list_models(include="vgg*", exclude="*_bn") == ["vgg11", "vgg16"]
    net = models.get_model("resnet18", num_classes=10, stem="cifar")
    assert isinstance(net, models.ResNet) and net.fc.out_features == 10 and isinstance(net.maxpool, dl.nn.Identity)
    assert isinstance(models.get_model("VGG11", head="cifar"), models.VGG)  # case-insensitive, as torchvision's
    with pytest.raises(ValueError, match="unknown model 'resnet9'.*resnet101.*vgg16_bn"):
        models.get_model("resnet9")


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="no pretrained weights.*load_state_dict"):
        models.resnet50(weights="IMAGENET1K_V2")
    with pytest.raises(ValueError, match="no pretrained weights"):
        models.vgg16_bn(weights="DEFAULT")
    with pytest.raises(ValueError, match="stem must be one of 'imagenet', 'cifar', got 'mnist'"):
        models.resnet18(stem="mnist")
    with pytest.raises(ValueError, match="head must be one of 'imagenet', 'cifar', got 'tiny'"):
        models.vgg11(head="tiny")
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        models.resnet18(groups=2)
    with pytest.raises(ValueError, match="3-element"):
        models.resnet50(replace_stride_with_dilation=[True])
    with pytest.raises(TypeError):
        models.resnet18(10)  # the builders take keywords only, as torchvision's


def test_replace_stride_with_dilation_keeps_the_resolution() -> None:
    # torchvision's segmentation backbones: layer3/layer4 trade their stride for dilation, so a 64x64
    # image leaves layer4 at 8x8 (output stride 8) instead of 2x2, with the same weights' shapes.
    dilated, plain = models.resnet50(replace_stride_with_dilation=[False, True, True]).eval(), models.resnet50()
    assert shapes(dl_state(dilated)) == shapes(dl_state(plain))
    y = dl.tensor(np.random.default_rng(6).standard_normal((1, 3, 64, 64)).astype(np.float32))
    with dl.no_grad():
        y = dilated.maxpool(dilated.relu(dilated.bn1(dilated.conv1(y))))
        for stage in (dilated.layer1, dilated.layer2, dilated.layer3, dilated.layer4):
            y = stage(y)
        assert tuple(y.shape) == (1, 2048, 8, 8)
        assert tuple(dilated(dl.zeros(1, 3, 64, 64)).shape) == (1, 1000)
