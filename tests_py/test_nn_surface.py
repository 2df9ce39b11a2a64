# The nn surface of issue 9 against torch: every new layer and loss with weights copied from torch
# (values and gradients, all reductions, error types), the containers' list/dict behaviour, the
# Module API's bookkeeping (dtype moves, buffers, strict state_dict loading, repr), nn.utils, and
# dl.accelerator / dl.backends / dl.cuda additions; plus a miniature of the pytorch/examples mnist
# script's structure, written for dlcore, on a few real MNIST batches.
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import dlcore as dl
import dlcore.nn as nn
import dlcore.nn.functional as F
from helpers import check_op, to_numpy

torch = pytest.importorskip("torch")
tnn, tF = torch.nn, torch.nn.functional

# Composites of a few float32 ops: a few ulps of difference from torch's fused kernels.
ATOL, RTOL = 2e-5, 1e-4


def copied(dl_module: nn.Module, torch_module: "torch.nn.Module") -> nn.Module:
    """``dl_module`` with torch_module's parameters and buffers (the state dicts share keys)."""
    dl_module.load_state_dict({k: v.detach().clone() for k, v in torch_module.state_dict().items()})
    return dl_module


def compare_module(dl_module: nn.Module, torch_module: "torch.nn.Module", shape: tuple[int, ...], device: str,
                   seed: int = 0) -> None:
    """Same input, same upstream gradient: outputs, input gradients and parameter gradients match."""
    dl_module = copied(dl_module, torch_module).to(device)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    tx, dx = torch.tensor(x, requires_grad=True), dl.tensor(x, device=device, requires_grad=True)
    tout, dout = torch_module(tx), dl_module(dx)
    np.testing.assert_allclose(to_numpy(dout), to_numpy(tout), atol=ATOL, rtol=RTOL)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(tout.shape)).astype(np.float32)
    tout.backward(torch.tensor(g))
    dout.backward(dl.tensor(g, device=device))
    np.testing.assert_allclose(to_numpy(dx.grad), to_numpy(tx.grad), atol=1e-4, rtol=1e-4)
    torch_grads = {n: p.grad for n, p in torch_module.named_parameters()}
    for name, p in dl_module.named_parameters():
        np.testing.assert_allclose(to_numpy(p.grad), to_numpy(torch_grads[name]), atol=1e-4, rtol=1e-4, err_msg=name)


# ---- layers ----

LAYERS = [
    ("Conv1d", lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    ("Conv1d_same", lambda m: m.Conv1d(2, 3, 4, padding="same", dilation=2), (2, 2, 8)),
    ("Conv2d_same", lambda m: m.Conv2d(2, 3, 4, padding="same"), (1, 2, 6, 5)),
    ("ConvTranspose2d", lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    ("ConvTranspose2d_groups", lambda m: m.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=2),
     (1, 4, 3, 3)),
    ("AdaptiveAvgPool2d", lambda m: m.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d_1", lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 4, 4)),
    ("AdaptiveMaxPool2d", lambda m: m.AdaptiveMaxPool2d((3, 4)), (2, 2, 7, 9)),
    ("MaxPool1d", lambda m: m.MaxPool1d(3, 2, 1), (2, 3, 10)),
    ("MaxPool2d_ceil", lambda m: m.MaxPool2d(3, 2, ceil_mode=True), (2, 2, 7, 8)),
    ("AvgPool2d_ceil", lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 2, 7, 8)),
    ("AvgPool2d_exclude_pad", lambda m: m.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 7, 8)),
    ("AvgPool2d_divisor", lambda m: m.AvgPool2d(2, divisor_override=3), (1, 2, 6, 6)),
    ("LayerNorm", lambda m: m.LayerNorm([4, 5]), (3, 4, 5)),
    ("GroupNorm", lambda m: m.GroupNorm(2, 6), (2, 6, 3, 3)),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(4), (8, 4)),
    ("BatchNorm1d_3d", lambda m: m.BatchNorm1d(3, momentum=None), (4, 3, 5)),
    ("Upsample_nearest", lambda m: m.Upsample(scale_factor=2), (1, 2, 3, 4)),
    ("Upsample_bilinear", lambda m: m.Upsample(size=(5, 7), mode="bilinear"), (1, 2, 3, 4)),
    ("Upsample_bilinear_ac", lambda m: m.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True), (1, 2, 4, 4)),
    ("ZeroPad2d", lambda m: m.ZeroPad2d((1, 0, 2, -1)), (1, 2, 3, 4)),
    ("PReLU", lambda m: m.PReLU(3), (2, 3, 4)),
    ("Softmax", lambda m: m.Softmax(dim=1), (2, 3, 4)),
    ("LogSoftmax", lambda m: m.LogSoftmax(dim=0), (3, 4)),
    ("Linear_3d", lambda m: m.Linear(4, 3), (2, 5, 4)),
    ("Unflatten", lambda m: m.Unflatten(1, (2, 3)), (4, 6)),
    ("Identity", lambda m: m.Identity(7, unused=True), (2, 3)),
]


@pytest.mark.parametrize("make", [row[1:] for row in LAYERS], ids=[row[0] for row in LAYERS])
def test_layer_matches_torch(make, device):
    build, shape = make
    compare_module(build(nn), build(tnn), shape, device)


def test_layer_state_dict_keys_match_torch():
    for name, build, _ in LAYERS:
        assert list(build(nn).state_dict()) == list(build(tnn).state_dict()), name


def test_embedding_matches_torch_and_freezes_padding(device):
    tm, dm = tnn.Embedding(10, 4, padding_idx=2), nn.Embedding(10, 4, padding_idx=2)
    assert float(dm.weight[2].abs().sum().item()) == 0.0  # the padding row starts at zero, as torch's
    dm = copied(dm, tm).to(device)
    idx = np.array([[1, 2, 3], [2, 9, 1]], dtype=np.int64)
    tout, dout = tm(torch.tensor(idx)), dm(dl.tensor(idx, device=device))
    np.testing.assert_allclose(to_numpy(dout), to_numpy(tout), atol=0)
    g = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    tout.backward(torch.tensor(g))
    dout.backward(dl.tensor(g, device=device))
    np.testing.assert_allclose(to_numpy(dm.weight.grad), to_numpy(tm.weight.grad), atol=1e-6)
    with pytest.raises(IndexError):
        nn.Embedding(3, 2)(dl.tensor([3]))


def test_batchnorm1d_running_stats_match_torch():
    tm, dm = tnn.BatchNorm1d(3, momentum=None), nn.BatchNorm1d(3, momentum=None)
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((6, 3)).astype(np.float32)
        tm(torch.tensor(x)), dm(dl.tensor(x))
    for key, value in tm.state_dict().items():
        np.testing.assert_allclose(to_numpy(dm.state_dict()[key]), value.numpy(), atol=1e-6, err_msg=key)
    x = np.random.default_rng(9).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(to_numpy(dm.eval()(dl.tensor(x))), tm.eval()(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_batchnorm2d_momentum_none_keeps_the_cumulative_average_like_torch():
    tm, dm = tnn.BatchNorm2d(3, momentum=None), nn.BatchNorm2d(3, momentum=None)
    assert dm.momentum is None and "momentum=None" in repr(dm)
    for seed in range(4):
        x = np.random.default_rng(seed).standard_normal((5, 3, 2, 2)).astype(np.float32) * (seed + 1)
        tm(torch.tensor(x)), dm(dl.tensor(x))
    for key, value in tm.state_dict().items():
        np.testing.assert_allclose(to_numpy(dm.state_dict()[key]), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
    dm.momentum = 0.5  # settable back to a number, as in torch
    dm(dl.tensor(np.ones((2, 3, 1, 1), np.float32)))
    assert dm.momentum == 0.5


def test_dropout2d_zeroes_whole_channels():
    x = dl.ones([4, 8, 3, 3])
    y = nn.Dropout2d(0.5)(x).numpy()
    per_channel = y.reshape(4, 8, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # each channel all kept or all dropped
    assert np.array_equal(nn.Dropout2d(0.5).eval()(x).numpy(), x.numpy())


# ---- functional layers ----

@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_torch(mode, device):
    amounts = (2, 1, 1, 3) if mode != "constant" else (2, -1, 0, 3)
    check_op(lambda x: tF.pad(x, amounts, mode=mode), lambda x: F.pad(x, amounts, mode=mode), [(2, 3, 4, 5)],
             device=device)


def test_interpolate_matches_torch(device):
    for kwargs in ({"size": 7}, {"scale_factor": 2.5}, {"size": 4, "mode": "linear"},
                   {"scale_factor": 0.5, "mode": "linear", "align_corners": True}):
        check_op(lambda x: tF.interpolate(x, **kwargs), lambda x: F.interpolate(x, **kwargs), [(2, 3, 5)], device=device)
    with pytest.raises(ValueError):
        F.interpolate(dl.randn(1, 1, 4, 4), mode="bilinear")


def test_functional_helpers_match_torch(device):
    check_op(lambda x: tF.normalize(x, dim=1), lambda x: F.normalize(x, dim=1), [(3, 4)], device=device)
    check_op(lambda x: tF.layer_norm(x, (5,)), lambda x: F.layer_norm(x, (5,)), [(3, 5)], device=device)
    labels = np.array([0, 3, 1], dtype=np.int64)
    assert np.array_equal(F.one_hot(dl.tensor(labels)).numpy(), tF.one_hot(torch.tensor(labels)).numpy())
    assert F.one_hot(dl.tensor(labels), 6).shape == (3, 6)
    with pytest.raises(RuntimeError):
        F.one_hot(dl.tensor(labels), 2)
    with pytest.raises(ValueError):
        F.pad(dl.randn(2, 2), (1, 1, 1))
    assert tuple(dl.flatten(dl.randn(2, 3, 4), 1).shape) == (2, 12)


# ---- losses ----

REDUCTIONS = ["mean", "sum", "none"]


def _pair(seed: int, shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, shape).astype(np.float32) for _ in range(2)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(reduction, device):
    inputs = _pair(0, (4, 5))
    inputs[1][0, 0] = inputs[0][0, 0] + 0.3  # one difference inside smooth_l1/huber's quadratic zone
    for tloss, dloss, kwargs in ((tF.mse_loss, F.mse_loss, {}), (tF.l1_loss, F.l1_loss, {}),
                                 (tF.smooth_l1_loss, F.smooth_l1_loss, {"beta": 0.5}),
                                 (tF.huber_loss, F.huber_loss, {"delta": 0.7})):
        check_op(lambda x, y: tloss(x, y, reduction=reduction, **kwargs),
                 lambda x, y: dloss(x, y, reduction=reduction, **kwargs), inputs=inputs, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_losses_match_torch(reduction, device):
    p, t = _pair(1, (3, 4), 0.05, 0.95)
    check_op(lambda x, y: tF.binary_cross_entropy(x, y, reduction=reduction),
             lambda x, y: F.binary_cross_entropy(x, y, reduction=reduction), inputs=[p, t], device=device)
    logits, _ = _pair(2, (3, 4), -30.0, 30.0)  # large logits: the stable form must not overflow
    pos_weight = np.array([0.5, 1.0, 2.0, 3.0], dtype=np.float32)
    for tw, dw in ((None, None), (torch.tensor(pos_weight), dl.tensor(pos_weight, device=device))):
        check_op(lambda x, y: tF.binary_cross_entropy_with_logits(x, y, reduction=reduction, pos_weight=tw),
                 lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction, pos_weight=dw),
                 inputs=[logits, t], device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_div_matches_torch(reduction, device):
    logp = np.log(np.random.default_rng(3).dirichlet(np.ones(5), size=4)).astype(np.float32)
    q = np.random.default_rng(4).dirichlet(np.ones(5), size=4).astype(np.float32)
    q[0, 0] = 0.0  # xlogy: a zero target contributes zero
    for log_target in (False, True):
        target = np.log(q + 1e-3) if log_target else q
        check_op(lambda x, y: tF.kl_div(x, y, reduction=reduction, log_target=log_target),
                 lambda x, y: F.kl_div(x, y, reduction=reduction, log_target=log_target),
                 inputs=[logp, target.astype(np.float32)], device=device)


def _classification_case(shape: tuple[int, ...], classes: int, ignore: int | None):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal(shape).astype(np.float32)
    target_shape = (shape[0],) + shape[2:]
    target = rng.integers(0, classes, target_shape).astype(np.int64)
    if ignore is not None:
        target.reshape(-1)[::3] = ignore
    return logits, target


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2)], ids=["2d", "4d"])
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"ignore_index": 1}, {"label_smoothing": 0.2},
                                     {"weight": True, "ignore_index": -100, "label_smoothing": 0.1}],
                         ids=["plain", "weight", "ignore", "smoothing", "all"])
def test_cross_entropy_and_nll_match_torch(reduction, shape, options, device):
    ignore = options.get("ignore_index", -100)
    logits, target = _classification_case(shape, shape[1], ignore if "ignore_index" in options else None)
    weight = np.linspace(0.5, 2.0, shape[1]).astype(np.float32) if options.get("weight") else None

    def call(fn, framework, x, w, **extra):
        make = (lambda a: torch.tensor(a)) if framework is torch else (lambda a: dl.tensor(a, device=device))
        return fn(x, make(target), weight=None if w is None else make(w), ignore_index=ignore,
                  reduction=reduction, **extra)

    smoothing = options.get("label_smoothing", 0.0)
    check_op(lambda x: call(tF.cross_entropy, torch, x, weight, label_smoothing=smoothing),
             lambda x: call(F.cross_entropy, dl, x, weight, label_smoothing=smoothing), inputs=[logits], device=device)
    check_op(lambda x: call(tF.nll_loss, torch, x, weight), lambda x: call(F.nll_loss, dl, x, weight),
             inputs=[logits], device=device)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_class_probabilities_match_torch(smoothing, device):
    logits = np.random.default_rng(6).standard_normal((5, 4)).astype(np.float32)
    probs = np.random.default_rng(7).dirichlet(np.ones(4), size=5).astype(np.float32)
    check_op(lambda x, p: tF.cross_entropy(x, p, label_smoothing=smoothing),
             lambda x, p: F.cross_entropy(x, p, label_smoothing=smoothing), inputs=[logits, probs], device=device)


def test_loss_modules_and_errors():
    x, y = dl.randn(3, 4), dl.randn(3, 4)
    for name in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"):
        module = getattr(nn, name)(reduction="sum")
        assert module.reduction == "sum" and module(x, y).shape == ()
    assert nn.NLLLoss(size_average=False).reduction == "sum"  # torch's legacy arguments
    ce = nn.CrossEntropyLoss(weight=dl.ones(4), ignore_index=0, label_smoothing=0.1)
    assert ce.ignore_index == 0 and "weight" in dict(ce.named_buffers())
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(x, y, reduction="avg")
    with pytest.raises(ValueError, match="size"):
        F.mse_loss(x, dl.randn(4, 3))
    with pytest.raises(IndexError):
        F.nll_loss(dl.randn(2, 3), dl.tensor([0, 3]))
    with pytest.raises(RuntimeError):
        F.binary_cross_entropy(dl.tensor([1.5]), dl.tensor([1.0]))
    empty = F.cross_entropy(dl.zeros(0, 10), dl.tensor(np.zeros(0, np.int64)))
    assert math.isnan(float(empty.item()))  # torch's mean over no elements


# ---- containers ----

def test_sequential_list_protocol_matches_torch():
    def build(m):
        seq = m.Sequential(m.Linear(2, 3), m.ReLU())
        seq.append(m.Linear(3, 4))
        seq.insert(1, m.Tanh())
        seq.extend([m.Sigmoid()])
        del seq[0]
        return seq
    ds, ts = build(nn), build(tnn)
    assert [type(m).__name__ for m in ds] == [type(m).__name__ for m in ts]
    assert len(ds) == len(ts) == 4 and type(ds[-1]).__name__ == "Sigmoid"
    assert [type(m).__name__ for m in ds[1:3]] == ["ReLU", "Linear"] and isinstance(ds[1:3], nn.Sequential)
    assert list(ds.state_dict()) == list(ts.state_dict())
    shared = nn.ReLU()
    assert len(nn.Sequential(shared, shared)) == 2  # the same module twice keeps both positions
    named = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"] and named.act is named[1]
    with pytest.raises(IndexError):
        ds[10]
    # children extended in Python keep their behaviour inside a Sequential
    inner = nn.Sequential(nn.Conv2d(1, 2, 4, padding="same"), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten(0, 1),
                          nn.Linear(5, 3))
    assert tuple(inner(dl.randn(1, 1, 5, 9)).shape) == (2, 3, 3)
    with pytest.raises(TypeError):
        nn.Sequential(3)


def test_module_list_and_dict():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Linear(3, 2)})
            self.scales = nn.ParameterList([dl.ones(3), nn.Parameter(dl.zeros(3))])
            self.extra = nn.ParameterDict({"t": dl.ones(1)})

        def forward(self, x):
            for block in self.blocks:
                x = block(x) * self.scales[0]
            return self.heads["b"](x) + self.extra["t"]

    net = Net()
    assert list(net.state_dict()) == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                                      "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias",
                                      "scales.0", "scales.1", "extra.t"]
    assert net(dl.randn(2, 3)).shape == (2, 2)
    assert len(net.blocks) == 2 and list(net.heads.keys()) == ["a", "b"] and "a" in net.heads
    assert isinstance(net.scales[0], nn.Parameter) and len(list(net.parameters())) == 11
    net.blocks.append(nn.ReLU())
    del net.heads["a"]
    assert len(net.blocks) == 3 and list(net.heads.keys()) == ["b"]
    assert "heads.a.weight" not in net.state_dict()
    with pytest.raises(KeyError):
        net.heads["a"]
    with pytest.raises(NotImplementedError):
        net.blocks(dl.randn(1, 3))


# ---- Module API ----

def test_module_api_bookkeeping():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    net[0].register_buffer("scratch", dl.zeros(2), persistent=False)
    assert "0.scratch" not in net.state_dict() and "0.scratch" in dict(net.named_buffers())
    assert [name for name, _ in net.named_modules()] == ["", "0", "1", "2"]
    assert net.get_submodule("2") is net[2] and net.get_parameter("2.bias") is not None
    with pytest.raises(AttributeError):
        net.get_submodule("7")
    assert all(not p.requires_grad for p in net.requires_grad_(False).parameters())
    result = net.load_state_dict({"0.weight": dl.zeros(4, 3), "bogus": dl.zeros(1)}, strict=False)
    assert result.unexpected_keys == ["bogus"] and "0.bias" in result.missing_keys
    assert float(net[0].weight.abs().sum().item()) == 0.0
    with pytest.raises(RuntimeError, match="Missing key"):
        net.load_state_dict({})
    with pytest.raises(RuntimeError, match=r"size mismatch for weight.*\[3, 2\].*\[2, 2\]"):
        nn.Linear(2, 2).load_state_dict({"weight": np.zeros((3, 2), np.float32), "bias": np.zeros(2, np.float32)})
    assert net.to("cpu", dl.float32) is net and net.float() is net
    with pytest.raises(NotImplementedError, match="float32"):
        net.double()
    sd = net.state_dict(prefix="model.")
    assert all(k.startswith("model.") for k in sd)
    assert repr(nn.LeakyReLU(0.2)) == repr(tnn.LeakyReLU(0.2))
    assert repr(nn.Conv1d(2, 3, 3)) == repr(tnn.Conv1d(2, 3, 3))


# ---- nn.utils ----

@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type):
    grads = [np.random.default_rng(i).standard_normal(s).astype(np.float32) * 3 for i, s in enumerate([(3, 4), (5,)])]
    tparams = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    dparams = [nn.Parameter(dl.zeros(list(g.shape))) for g in grads]
    for tp, dp, g in zip(tparams, dparams, grads):
        tp.grad, dp.grad = torch.tensor(g), dl.tensor(g)
    total_t = torch.nn.utils.clip_grad_norm_(tparams, 1.5, norm_type)
    total_d = nn.utils.clip_grad_norm_(dparams, 1.5, norm_type)
    np.testing.assert_allclose(float(total_d.item()), float(total_t), rtol=1e-5)
    for tp, dp in zip(tparams, dparams):
        np.testing.assert_allclose(dp.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_clip_grad_value_and_vector_round_trip():
    p = nn.Parameter(dl.zeros(4))
    p.grad = dl.tensor([-3.0, -0.5, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.numpy().tolist() == [-1.0, -0.5, 0.5, 1.0]
    layer = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(layer.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(dl.arange(8, dtype=dl.float32), layer.parameters())
    assert layer.weight.detach().numpy().ravel().tolist() == [0, 1, 2, 3, 4, 5]
    assert layer.bias.detach().numpy().tolist() == [6, 7]
    with pytest.raises(RuntimeError):
        nn.utils.vector_to_parameters(dl.zeros(3), layer.parameters())


# ---- devices ----

def test_accelerator_backends_and_cuda_additions():
    assert dl.accelerator.is_available() == dl.cuda.is_available()
    assert dl.accelerator.device_count() == dl.cuda.device_count()
    current = dl.accelerator.current_accelerator()
    assert current is None if not dl.cuda.built_with_cuda else current.type == "cuda"
    if not dl.cuda.is_available():
        assert dl.accelerator.current_accelerator(check_available=True) is None
    assert dl.backends.mps.is_available() is False and dl.backends.cudnn.is_available() is False
    dl.backends.cudnn.benchmark, dl.backends.cudnn.deterministic = True, True
    assert dl.backends.cudnn.benchmark and dl.backends.cudnn.deterministic
    dl.backends.cudnn.benchmark, dl.backends.cudnn.deterministic = False, False
    dl.cuda.manual_seed_all(3)
    a = dl.rand(4).numpy()
    dl.cuda.manual_seed(3)
    assert np.array_equal(a, dl.rand(4).numpy())  # one generator for every device


def test_cpu_winograd_switch_trades_rounding_for_speed():
    # 64 -> 64 channels, 3x3, stride 1: a Winograd shape. Both settings agree with the float64
    # convolution to their documented rounding: ~1e-5 of the output's scale with Winograd, ~3e-7 without.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 64, 12, 12)), rng.standard_normal((64, 64, 3, 3)) * 0.05
    exact = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
    before = dl.backends.cpu.allow_winograd
    errors = {}
    try:
        for allowed in (True, False):
            dl.backends.cpu.allow_winograd = allowed
            out = F.conv2d(dl.tensor(x.astype(np.float32)), dl.tensor(w.astype(np.float32)), padding=1).numpy()
            errors[allowed] = np.abs(out - exact).max() / np.abs(exact).max()
        with pytest.raises(TypeError, match="allow_winograd must be a bool"):
            dl.backends.cpu.allow_winograd = 1
    finally:
        dl.backends.cpu.allow_winograd = before
    assert before is True  # the default
    assert errors[False] < 2e-6 < errors[True] < 1e-4


# ---- the mnist example's structure, written for dlcore ----

class _MnistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 8, 3, 1), nn.Conv2d(8, 16, 3, 1)
        self.dropout1, self.dropout2 = nn.Dropout(0.25), nn.Dropout(0.5)
        self.fc1, self.fc2 = nn.Linear(16 * 12 * 12, 32), nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        x = self.fc1(dl.flatten(self.dropout1(x), 1))
        return F.log_softmax(self.fc2(self.dropout2(F.relu(x))), dim=1)


def test_mnist_example_structure_on_real_data(data_dir):
    from dlcore.optim.lr_scheduler import StepLR
    from dlcore.utils.data import DataLoader, Subset
    from dlcore.vision import datasets, transforms

    dl.manual_seed(1)
    device = dl.accelerator.current_accelerator() if dl.accelerator.is_available() else dl.device("cpu")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = Subset(datasets.MNIST(data_dir, train=True, transform=transform), range(256))
    test = Subset(datasets.MNIST(data_dir, train=False, transform=transform), range(200))
    model = _MnistNet().to(device)
    optimizer = dl.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for _ in range(2):
        model.train()
        for data, target in DataLoader(train, batch_size=32, shuffle=True):
            optimizer.zero_grad()
            loss = F.nll_loss(model(data.to(device)), target.to(device))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    model.eval()
    correct, total_loss = 0, 0.0
    with dl.no_grad():
        for data, target in DataLoader(test, batch_size=100):
            output = model(data.to(device))
            total_loss += F.nll_loss(output, target.to(device), reduction="sum").item()
            correct += int((output.argmax(dim=1) == target.to(device)).sum().item())
    assert np.mean(losses[-4:]) < losses[0]
    assert correct > 60 and math.isfinite(total_loss)  # 16 steps on 256 images: 3x chance (20 of 200)


# ---- nn.init additions ----

def test_init_trunc_normal_orthogonal_eye():
    dl.manual_seed(0)
    w = nn.Parameter(dl.empty(200, 50))
    values = nn.init.trunc_normal_(w, mean=0.5, std=1.0, a=-1.0, b=1.5).detach().numpy()
    assert values.min() >= -1.0 and values.max() <= 1.5
    expected_mean = torch.nn.init.trunc_normal_(torch.empty(200, 50), mean=0.5, std=1.0, a=-1.0, b=1.5).mean().item()
    assert abs(values.mean() - expected_mean) < 0.05  # same truncated law: means agree within sampling noise
    for shape in ((6, 4), (4, 6), (3, 2, 2)):
        q = nn.init.orthogonal_(nn.Parameter(dl.empty(*shape)), gain=2.0).detach().numpy().reshape(shape[0], -1)
        small = min(q.shape)
        gram = q @ q.T if q.shape[0] == small else q.T @ q
        np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)
    assert np.array_equal(nn.init.eye_(nn.Parameter(dl.empty(2, 3))).detach().numpy(), np.eye(2, 3))
    with pytest.raises(ValueError):
        nn.init.orthogonal_(nn.Parameter(dl.empty(3)))


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_fused_and_composed_paths_match_torch(affine, device):
    """float32 runs the fused C++ kernel (CPU and CUDA), float64 the composition of ops."""
    shape, normalized = (3, 4, 6), (4, 6)
    for np_dtype, torch_dtype, tol in ((np.float32, torch.float32, 1e-5), (np.float64, torch.float64, 1e-10)):
        rng = np.random.default_rng(11)
        x, w, b, g = (rng.standard_normal(s) for s in (shape, normalized, normalized, shape))
        tensors_t = [torch.tensor(a, dtype=torch_dtype, requires_grad=True) for a in (x, w, b)]
        tensors_d = [dl.tensor(a.astype(np_dtype), device=device, requires_grad=True) for a in (x, w, b)]
        out_t = tF.layer_norm(tensors_t[0], normalized, *(tensors_t[1:] if affine else (None, None)), eps=1e-5)
        out_d = F.layer_norm(tensors_d[0], normalized, *(tensors_d[1:] if affine else (None, None)), eps=1e-5)
        np.testing.assert_allclose(to_numpy(out_d), to_numpy(out_t), atol=tol, rtol=tol)
        assert (out_d.grad_fn.name() == "NativeLayerNormBackward") == (np_dtype is np.float32)
        out_t.backward(torch.tensor(g, dtype=torch_dtype))
        out_d.backward(dl.tensor(g.astype(np_dtype), device=device))
        for td, tt in zip(tensors_d if affine else tensors_d[:1], tensors_t if affine else tensors_t[:1]):
            np.testing.assert_allclose(to_numpy(td.grad), to_numpy(tt.grad), atol=10 * tol, rtol=10 * tol)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(dl.randn(2, 3), (4,))
