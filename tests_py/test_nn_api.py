# dl.nn.Module as a PyTorch user writes it: a Python subclass whose attributes register submodules,
# Parameters and buffers; named_parameters/state_dict keys, load_state_dict (in place, so optimizers
# keep working), train/eval propagation, Sequential and module repr. Built-in layers' shapes and defaults.
import numpy as np
import pytest

import dlcore as dl
from dlcore import nn

torch = pytest.importorskip("torch")  # the reference models; CI installs torch


class SmallNet(nn.Module):
    """Conv, a Sequential block, a bare Parameter, a buffer and a plain attribute, like a user model."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.block = nn.Sequential(nn.ReLU(), nn.Dropout(0.5), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
        self.scale = nn.Parameter(dl.full([1], 2.0))
        self.register_buffer("calls", dl.zeros(1))
        self.note = "plain attribute"

    def forward(self, x):
        return self.block(self.conv1(x)) * self.scale


class TorchSmallNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3)
        self.block = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Flatten(),
                                         torch.nn.Linear(4 * 6 * 6, 5))
        self.scale = torch.nn.Parameter(torch.full([1], 2.0))
        self.register_buffer("calls", torch.zeros(1))


def random_state(model) -> dict:
    rng = np.random.default_rng(0)
    return {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in model.state_dict().items()}


def test_python_subclass_registers_parameters_like_torch():
    model, reference = SmallNet(), TorchSmallNet()
    assert [k for k, _ in model.named_parameters()] == [k for k, _ in reference.named_parameters()]
    assert set(model.state_dict()) == set(reference.state_dict())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert [name for name, _ in model.named_buffers()] == ["calls"]
    assert model.note == "plain attribute" and "note" not in model.state_dict()
    assert model(dl.randn(2, 1, 8, 8)).shape == (2, 5)


def test_layers_held_only_by_their_parent_keep_their_python_type():
    # A built-in layer is a Python subclass of the C++ one (dl.nn.Linear's forward takes any leading
    # dims); held only by its parent it must stay that class, with its forward and attributes.
    import gc

    class Tagged(nn.Conv2d):
        pass

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.conv = Tagged(1, 2, 3)
            self.conv.note = "kept"
            self.pool, self.norm = nn.MaxPool2d(2), nn.BatchNorm2d(2)

    net = Net()
    gc.collect()
    assert type(net.fc) is nn.Linear and type(net.conv) is Tagged and net.conv.note == "kept"
    assert type(net.pool) is nn.MaxPool2d and type(net.norm) is nn.BatchNorm2d
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Linear", "Tagged", "MaxPool2d", "BatchNorm2d"]
    assert list(net.fc(dl.randn(2, 5, 4)).shape) == [2, 5, 3]  # the Python forward, not the 2-D C++ one


def test_state_dict_key_order_matches_torch():
    assert list(SmallNet().state_dict()) == list(TorchSmallNet().state_dict())
    dl_seq = nn.Sequential(nn.BatchNorm2d(2), nn.Conv2d(2, 2, 1))
    torch_seq = torch.nn.Sequential(torch.nn.BatchNorm2d(2), torch.nn.Conv2d(2, 2, 1))
    assert list(dl_seq.state_dict()) == list(torch_seq.state_dict())


def test_gradients_reach_every_parameter():
    model = SmallNet()
    model.eval()  # dropout off: every output depends on every weight
    model(dl.randn(3, 1, 8, 8)).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name


def test_state_dict_round_trip_and_parameter_identity():
    model = SmallNet()
    pointers = [p.data_ptr() for p in model.parameters()]
    optimizer = dl.optim.SGD(model.parameters(), lr=1.0)
    state = random_state(model)
    assert model.load_state_dict(state) == ([], [])
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), state[key], err_msg=key)
    assert [p.data_ptr() for p in model.parameters()] == pointers  # copied in place, not replaced
    # an optimizer made before the load still updates the module's (loaded) parameters
    model.eval()
    model(dl.randn(2, 1, 8, 8)).sum().backward()
    grad = model.conv1.weight.grad.numpy().copy()
    optimizer.step()
    np.testing.assert_allclose(model.conv1.weight.detach().numpy(), state["conv1.weight"] - grad, rtol=1e-6)
    copy = SmallNet()
    copy.load_state_dict(model.state_dict())
    copy.eval()
    x = dl.randn(2, 1, 8, 8)
    np.testing.assert_array_equal(copy(x).detach().numpy(), model(x).detach().numpy())


def test_state_dict_values_are_detached_views_of_the_parameters():
    model = SmallNet()
    entry = model.state_dict()["conv1.weight"]
    assert not entry.requires_grad and entry.data_ptr() == model.conv1.weight.data_ptr()


def test_load_state_dict_from_torch_tensors():
    model, reference = SmallNet(), TorchSmallNet()
    model.load_state_dict(reference.state_dict())
    np.testing.assert_array_equal(model.block[3].weight.detach().numpy(), reference.block[3].weight.detach().numpy())


def test_load_torch_batch_norm_state_dict():
    reference = torch.nn.BatchNorm2d(3)
    reference(torch.randn(4, 3, 2, 2))  # running stats and num_batches_tracked move away from defaults
    bn = nn.BatchNorm2d(3)
    bn.load_state_dict(reference.state_dict())
    np.testing.assert_allclose(bn.running_mean.numpy(), reference.running_mean.numpy())
    assert bn.state_dict()["num_batches_tracked"].item() == 1


def test_load_state_dict_errors_leave_the_model_unchanged():
    model = SmallNet()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = random_state(model)
    # torch's error type and wording (RuntimeError "Error(s) in loading state_dict for ...")
    with pytest.raises(RuntimeError, match=r"Missing key\(s\) in state_dict:.*conv1\.bias"):
        model.load_state_dict({"conv1.weight": state["conv1.weight"]})
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\) in state_dict:.*extra"):
        model.load_state_dict({**state, "extra": np.zeros(1, np.float32)})
    bad_shape = {**state, "block.3.weight": np.zeros((5, 7), np.float32)}
    with pytest.raises(RuntimeError, match=r"size mismatch for block\.3\.weight.*\[5, 7\].*\[5, 144\]"):
        model.load_state_dict(bad_shape)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key], err_msg=key)
    missing, unexpected = model.load_state_dict({"conv1.weight": state["conv1.weight"], "extra": state["scale"]},
                                                strict=False)
    assert "conv1.bias" in missing and unexpected == ["extra"]
    np.testing.assert_array_equal(model.conv1.weight.detach().numpy(), state["conv1.weight"])


def test_train_eval_propagate_to_every_submodule():
    model = SmallNet()
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.block.train(False)
    assert model.training and not model.block[1].training


def test_dropout_follows_train_and_eval():
    model = SmallNet()
    x = dl.randn(4, 1, 8, 8)
    model.eval()
    dl.manual_seed(0)
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())
    model.train()
    dl.manual_seed(0)
    first = model(x).detach().numpy()
    second = model(x).detach().numpy()
    assert not np.array_equal(first, second)  # fresh dropout masks in training mode


def test_sequential_indexing_iteration_and_python_modules():
    class Doubler(nn.Module):
        def forward(self, x):
            return x * 2.0

    class Inner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(x).relu()

    seq = nn.Sequential(Inner(), Doubler(), nn.Linear(3, 2))
    assert len(seq) == 3 and isinstance(seq[0], Inner) and isinstance(seq[-1], nn.Linear)
    assert [type(m) for m in seq] == [Inner, Doubler, nn.Linear]
    assert list(seq.state_dict()) == ["0.lin.weight", "0.lin.bias", "2.weight", "2.bias"]
    x = dl.randn(4, 3)
    manual = seq[2](seq[0](x) * 2.0)
    np.testing.assert_allclose(seq(x).detach().numpy(), manual.detach().numpy(), rtol=1e-6)
    with pytest.raises(IndexError, match="Sequential: index 3 out of range"):
        seq[3]
    with pytest.raises(TypeError, match="Sequential"):
        nn.Sequential(nn.ReLU(), "not a module")
    seq.append(nn.ReLU())
    assert len(seq) == 4


def test_register_buffer_and_module_to_cpu():
    model = SmallNet()
    model.calls = dl.full([1], 3.0)  # assigning a tensor to a buffer name replaces the buffer
    assert model.state_dict()["calls"].item() == 3.0
    assert not model.calls.requires_grad
    assert model.to("cpu") is model and model.cpu() is model
    assert all(p.device == "cpu" for p in model.parameters())
    with pytest.raises(TypeError, match="parameter 'scale'"):
        model.scale = dl.ones(1)  # a plain tensor cannot replace a Parameter, as in torch


def test_module_to_cuda(device):
    model = SmallNet().to(device)
    assert all(p.device.type == device for p in model.parameters())
    assert model.state_dict()["calls"].device.type == device
    assert model(dl.randn(2, 1, 8, 8, device=device)).device.type == device


def test_module_without_forward_raises():
    with pytest.raises(RuntimeError, match="forward"):
        nn.Module()(dl.randn(2))


def test_layer_defaults_follow_torch_initialisation():
    dl.manual_seed(0)
    conv, linear = nn.Conv2d(6, 16, 5), nn.Linear(400, 120)
    # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases alike
    for layer, fan_in in ((conv, 6 * 25), (linear, 400)):
        bound = 1 / np.sqrt(fan_in)
        for p in (layer.weight, layer.bias):
            values = p.detach().numpy()
            assert np.abs(values).max() <= bound
            assert np.abs(values).max() > 0.9 * bound
            assert abs(values.std() - bound / np.sqrt(3)) < 0.15 * bound
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.weight.detach().numpy(), np.ones(3, np.float32))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3, np.float32))


def test_module_repr_matches_torch_style():
    text = repr(SmallNet())
    assert text.startswith("SmallNet(") and "(conv1): Conv2d(1, 4, kernel_size=(3, 3)" in text
    assert "(3): Linear(in_features=144, out_features=5, bias=True)" in text
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == repr(torch.nn.Conv2d(1, 6, 5, padding=2))
