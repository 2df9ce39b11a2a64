# What a user gets for a mistake: a Python exception of the documented type (ValueError for shapes
# and arguments, RuntimeError for devices) whose message names the op and the offending shape or
# value — never a crash or a silent wrong answer. One table row per mistake.
import numpy as np
import pytest

import dlcore as dl
from dlcore import nn
from dlcore.nn import functional as F


def x4(*shape):
    return dl.randn(*(shape or (2, 3, 8, 8)))


def labels(*values):
    return dl.tensor(np.array(values, np.int64))


def params():
    return nn.Linear(3, 2).parameters()


# (id, call, exception, regex the message must match)
SHAPE_ERRORS = [
    # convolution: layer and functional
    ("Conv2d-wrong-channels", lambda: nn.Conv2d(1, 6, 5)(x4()), r"Conv2d\(1, 6\): input \[2, 3, 8, 8\] has 3 channels"),
    ("Conv2d-3d-input", lambda: nn.Conv2d(3, 6, 5)(x4(3, 8, 8)), r"conv2d: expected a 4-D input.*\[3, 8, 8\]"),
    ("conv2d-3d-weight", lambda: F.conv2d(x4(), x4(6, 3, 5)), r"conv2d: expected a 4-D weight.*\[6, 3, 5\]"),
    ("conv2d-channels", lambda: F.conv2d(x4(), x4(6, 2, 5, 5)),
     r"conv2d: input has 3 channels but weight expects 2 \(input \[2, 3, 8, 8\], weight \[6, 2, 5, 5\]\)"),
    ("conv2d-kernel-too-big", lambda: F.conv2d(x4(), x4(6, 3, 9, 9)), r"conv2d: kernel 9x9 is larger.*8x8"),
    ("conv2d-bias", lambda: F.conv2d(x4(), x4(6, 3, 3, 3), x4(5)), r"conv2d: bias \[5\] does not match 6"),
    ("conv2d-stride-0", lambda: F.conv2d(x4(), x4(6, 3, 3, 3), stride=0), r"conv2d: stride.*>= 1.*\[2, 3, 8, 8\]"),
    ("conv2d-groups", lambda: F.conv2d(x4(), x4(6, 1, 3, 3), groups=2), r"conv2d: .*divisible by groups=2"),
    ("conv2d-stride-triple", lambda: F.conv2d(x4(), x4(6, 3, 3, 3), stride=(1, 2, 3)), r"conv2d: stride.*\(1, 2, 3\)"),
    ("conv2d-empty-batch", lambda: F.conv2d(x4(0, 3, 8, 8), x4(6, 3, 3, 3)), r"conv2d: empty batch.*\[0, 3, 8, 8\]"),
    ("Conv2d-empty-batch", lambda: nn.Conv2d(3, 6, 3)(x4(0, 3, 8, 8)), r"conv2d: empty batch.*\[0, 3, 8, 8\]"),
    # dense
    ("Linear-features", lambda: nn.Linear(5, 3)(x4(4, 6)), r"Linear\(in_features=5\): input \[4, 6\] has 6"),
    # torch's Linear takes any leading dims: only the last one must match
    ("Linear-1d", lambda: nn.Linear(5, 3)(x4(4)), r"Linear\(in_features=5\): input \[4\] does not have 5 features"),
    ("Linear-4d", lambda: nn.Linear(5, 3)(x4(2, 3, 4, 6)), r"Linear\(in_features=5\): input \[2, 3, 4, 6\]"),
    ("linear-weight", lambda: F.linear(x4(4, 5), x4(3, 6)), r"linear: input \[4, 5\] does not match weight \[3, 6\]"),
    ("linear-bias", lambda: F.linear(x4(4, 5), x4(3, 5), x4(4)), r"linear: bias \[4\] does not match weight \[3, 5\]"),
    ("matmul-inner", lambda: x4(2, 3) @ x4(4, 5), r"matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied"),
    ("matmul-3d", lambda: F.matmul(x4(2, 2, 3), x4(3, 5)), r"matmul: shapes \[2, 2, 3\] and \[3, 5\]"),
    # pooling
    ("MaxPool2d-2d", lambda: nn.MaxPool2d(2)(x4(8, 8)), r"max_pool2d: expected a 3-D or 4-D input.*\[8, 8\]"),
    ("max_pool2d-kernel-too-big", lambda: F.max_pool2d(x4(1, 1, 3, 3), 5), r"max_pool2d: kernel is larger.*\[1, 1, 3, 3\]"),
    ("max_pool2d-padding", lambda: F.max_pool2d(x4(), 2, padding=2), r"max_pool2d: padding.*half.*padding 2x2"),
    ("max_pool2d-kernel-0", lambda: F.max_pool2d(x4(), 0), r"max_pool2d: kernel.*>= 1.*kernel 0x0"),
    ("max_pool2d-empty-batch", lambda: F.max_pool2d(x4(0, 3, 8, 8), 2), r"max_pool2d: empty batch.*\[0, 3, 8, 8\]"),
    ("avg_pool2d-2d", lambda: F.avg_pool2d(x4(8, 8), 2), r"avg_pool2d: expected a 4-D input.*\[8, 8\]"),
    ("AvgPool2d-empty-batch", lambda: nn.AvgPool2d(2)(x4(0, 3, 8, 8)), r"avg_pool2d: empty batch"),
    ("AvgPool2d-kernel-too-big", lambda: nn.AvgPool2d(4)(x4(1, 1, 3, 3)), r"avg_pool2d: kernel is larger"),
    # batch norm
    ("BatchNorm2d-channels", lambda: nn.BatchNorm2d(4)(x4()), r"BatchNorm2d\(4\): input \[2, 3, 8, 8\] has 3 channels"),
    ("BatchNorm2d-3d", lambda: nn.BatchNorm2d(3)(x4(3, 8, 8)), r"BatchNorm2d: expected 4-D input.*\[3, 8, 8\]"),
    ("BatchNorm2d-one-value", lambda: nn.BatchNorm2d(3)(x4(1, 3, 1, 1)), r"batch_norm: .*more than 1 value.*\[1, 3, 1, 1\]"),
    ("BatchNorm2d-empty-batch", lambda: nn.BatchNorm2d(3)(x4(0, 3, 4, 4)), r"batch_norm: .*\[0, 3, 4, 4\]"),
    ("batch_norm-eval-without-stats", lambda: F.batch_norm(x4(), None, None, training=False),
     r"batch_norm: evaluation mode needs running_mean"),
    ("batch_norm-stats-shape", lambda: F.batch_norm(x4(), dl.zeros(4), dl.ones(4), training=True),
     r"batch_norm: running_mean \[4\] does not match 3 channels"),
    # shapes
    ("Flatten-dims", lambda: nn.Flatten(2, 1)(x4()), r"flatten: start_dim 2 comes after end_dim 1"),
    ("flatten-out-of-range", lambda: F.flatten(x4(), 5), r"flatten: dimension 5 out of range for a 4-D"),
    ("reshape", lambda: x4().reshape(5, -1), r"reshape: shape \[5, -1\] is invalid for input of shape \[2, 3, 8, 8\]"),
    ("reshape-two-inferred", lambda: x4().reshape(-1, -1), r"reshape: shape \[-1, -1\] is invalid"),
    ("view", lambda: x4().view(7, 7), r"(reshape|view): shape \[7, 7\] is invalid for input of shape \[2, 3, 8, 8\]"),
    # elementwise
    ("add-broadcast", lambda: x4(2, 3) + x4(4), r"add: shapes \[2, 3\] and \[4\] cannot be broadcast"),
    ("mul-broadcast", lambda: x4(2, 3) * x4(3, 2), r"mul: shapes \[2, 3\] and \[3, 2\]"),
    ("sub-broadcast", lambda: dl.sub(x4(2, 3), x4(2, 4)), r"sub: shapes \[2, 3\] and \[2, 4\]"),
    ("div-broadcast", lambda: dl.div(x4(2, 3), x4(2, 4)), r"div: shapes \[2, 3\] and \[2, 4\]"),
    ("where-condition-not-bool", lambda: dl.where(x4(2), x4(2), x4(2)), r"where: expected condition to be a bool tensor"),
    ("gelu-approximate", lambda: F.gelu(x4(2), approximate="fast"), r"gelu: approximate must be one of 'none', 'tanh'"),
    # softmax, loss, reductions
    ("cross_entropy-label-too-big", lambda: F.cross_entropy(x4(4, 10), labels(1, 2, 10, 3)),
     r"cross_entropy: target 10 at position 2 is out of bounds for 10 classes"),
    ("cross_entropy-negative-label", lambda: F.cross_entropy(x4(4, 10), labels(1, -1, 0, 3)),
     r"cross_entropy: target -1 at position 1 is out of bounds"),
    ("CrossEntropyLoss-label-too-big", lambda: nn.CrossEntropyLoss()(x4(4, 10), labels(1, 2, 10, 3)),
     r"cross_entropy: target 10"),
    # float targets are class probabilities (torch): they must have the input's shape
    ("cross_entropy-float-labels", lambda: F.cross_entropy(x4(4, 10), dl.tensor([1.0, 2.0, 0.0, 3.0])),
     r"cross_entropy \(class probabilities\): target size \[4\] must be the same as input size \[4, 10\]"),
    ("cross_entropy-batch-mismatch", lambda: F.cross_entropy(x4(4, 10), labels(1, 2, 3)),
     r"cross_entropy: target \[3\] does not match input \[4, 10\]"),
    ("cross_entropy-2d-target", lambda: F.cross_entropy(x4(2, 10), dl.tensor([[1, 2], [3, 4]])),
     r"cross_entropy: target \[2, 2\]"),
    # [C] logits take a 0-d target and [N, C, d...] logits a [N, d...] target, as in torch
    ("cross_entropy-1d-logits", lambda: F.cross_entropy(x4(10), labels(1)),
     r"cross_entropy: target \[1\] does not match input \[10\] \(expected target \[\]\)"),
    ("cross_entropy-4d-logits", lambda: F.cross_entropy(x4(2, 10, 3, 3), labels(1, 2)),
     r"cross_entropy: target \[2\] does not match input \[2, 10, 3, 3\] \(expected target \[2, 3, 3\]\)"),
    ("softmax-dim-out-of-range", lambda: F.softmax(x4(4, 10), -3), r"softmax: dimension -3 out of range"),
    ("log_softmax-dim-out-of-range", lambda: F.log_softmax(x4(4, 10), 5), r"log_softmax: dimension 5 out of range"),
    # autograd and tensors
    ("backward-gradient-shape", lambda: (dl.randn(3, requires_grad=True) * 2.0).backward(dl.randn(4)),
     r"backward: gradient float32\[4\].*does not match output float32\[3\]"),
    ("copy_-shape", lambda: dl.randn(3).copy_(dl.randn(4)), r"copy_: shape mismatch.*\[3\].*\[4\]"),
    ("negative-dimension", lambda: dl.zeros(2, -1), r"negative dimension in shape \[2, -1\]"),
    ("tensor-ragged", lambda: dl.tensor([[1.0, 2.0], [3.0]]), r"tensor: cannot convert"),
]


@pytest.mark.parametrize("call, pattern", [row[1:] for row in SHAPE_ERRORS], ids=[row[0] for row in SHAPE_ERRORS])
def test_shape_errors_raise_value_error_naming_op_and_shapes(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


ARGUMENT_ERRORS = [
    # layers
    ("Conv2d-in-channels-0", lambda: nn.Conv2d(0, 6, 5), r"Conv2d: in_channels must be positive, got 0"),
    ("Conv2d-kernel-0", lambda: nn.Conv2d(1, 6, 0), r"Conv2d: kernel_size must be positive, got 0"),
    ("Conv2d-groups", lambda: nn.Conv2d(3, 6, 3, groups=2), r"Conv2d: in_channels \(3\).*groups \(2\)"),
    ("Conv2d-negative-padding", lambda: nn.Conv2d(3, 6, 3, padding=-1), r"Conv2d: padding must be non-negative"),
    ("Conv2d-stride-0", lambda: nn.Conv2d(3, 6, 3, stride=0), r"Conv2d: stride must be positive, got 0"),
    ("Conv2d-kernel-triple", lambda: nn.Conv2d(3, 6, (3, 3, 3)), r"Conv2d: kernel_size .*\(3, 3, 3\)"),
    ("Linear-0", lambda: nn.Linear(0, 3), r"Linear: in_features must be positive, got 0"),
    ("Linear-negative", lambda: nn.Linear(5, -3), r"Linear: out_features must be positive, got -3"),
    ("BatchNorm2d-0", lambda: nn.BatchNorm2d(0), r"BatchNorm2d: num_features must be positive, got 0"),
    ("BatchNorm2d-eps", lambda: nn.BatchNorm2d(3, eps=0.0), r"BatchNorm2d: eps must be positive"),
    ("MaxPool2d-padding", lambda: nn.MaxPool2d(2, padding=2), r"MaxPool2d: padding \(2, 2\).*half of kernel \(2, 2\)"),
    ("MaxPool2d-kernel-0", lambda: nn.MaxPool2d(0), r"MaxPool2d: kernel_size.*positive.*kernel \(0, 0\)"),
    ("Dropout-p", lambda: nn.Dropout(-0.1), r"Dropout: p must be between 0 and 1, got -0.1"),
    ("dropout-p", lambda: F.dropout(x4(), 1.5), r"dropout: probability.*1.5"),
    ("CrossEntropyLoss-smoothing", lambda: nn.CrossEntropyLoss(label_smoothing=-0.1),
     r"CrossEntropyLoss: label_smoothing must be in \[0, 1\], got -0.1"),
    ("cross_entropy-smoothing", lambda: F.cross_entropy(x4(4, 10), labels(1, 2, 0, 3), label_smoothing=1.5),
     r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5"),
    ("cross_entropy-reduction", lambda: F.cross_entropy(x4(4, 10), labels(1, 2, 0, 3), reduction="avg"),
     r"cross_entropy: reduction must be .*'avg'"),
    ("nll_loss-reduction", lambda: F.nll_loss(x4(4, 10), labels(1, 2, 0, 3), reduction="avg"),
     r"nll_loss: reduction must be .*'avg'"),
    ("CrossEntropyLoss-reduction", lambda: nn.CrossEntropyLoss(reduction="avg"), r"reduction must be .*'avg'"),
    ("Parameter-int", lambda: nn.Parameter(labels(1, 2)), r"Parameter: data must be float32, got int64\[2\]"),
    # optimizers
    ("SGD-lr", lambda: dl.optim.SGD(params(), lr=-0.1), r"SGD: Invalid learning rate: -0.1"),
    ("SGD-lr-nan", lambda: dl.optim.SGD(params(), lr=float("nan")), r"SGD: Invalid learning rate: nan"),
    ("SGD-momentum", lambda: dl.optim.SGD(params(), lr=0.1, momentum=-0.5), r"SGD: Invalid momentum value: -0.5"),
    ("SGD-weight-decay", lambda: dl.optim.SGD(params(), lr=0.1, weight_decay=-1), r"SGD: Invalid weight_decay value: -1"),
    ("SGD-nesterov", lambda: dl.optim.SGD(params(), lr=0.1, nesterov=True), r"SGD: Nesterov momentum requires"),
    ("SGD-empty", lambda: dl.optim.SGD([], lr=0.1), r"SGD: optimizer got an empty parameter list"),
    ("SGD-param-group-lr", lambda: dl.optim.SGD([{"params": params(), "lr": -1.0}], lr=0.1),
     r"SGD: Invalid learning rate: -1.0"),
    ("SGD-non-leaf", lambda: dl.optim.SGD([dl.randn(2, requires_grad=True) * 2.0], lr=0.1),
     r"SGD: can't optimize a non-leaf Tensor \(parameter 0"),
    ("SGD-duplicates", lambda: dl.optim.SGD(params() * 2, lr=0.1), r"SGD: a parameter appears more than once"),
    ("SGD-shared-between-groups", lambda: (lambda ps: dl.optim.SGD([{"params": ps[:1]}, {"params": ps}], lr=0.1))(params()),
     r"SGD: some parameters appear in more than one parameter group"),
    ("Adam-beta1", lambda: dl.optim.Adam(params(), betas=(1.0, 0.999)), r"Adam: Invalid beta parameter at index 0: 1.0"),
    ("Adam-beta2", lambda: dl.optim.Adam(params(), betas=(0.9, -0.1)), r"Adam: Invalid beta parameter at index 1: -0.1"),
    ("Adam-eps", lambda: dl.optim.Adam(params(), eps=-1.0), r"Adam: Invalid epsilon value: -1.0"),
    ("Adam-lr", lambda: dl.optim.Adam(params(), lr=-1), r"Adam: Invalid learning rate: -1"),
    ("AdamW-weight-decay", lambda: dl.optim.AdamW(params(), weight_decay=-0.1), r"AdamW: Invalid weight_decay value: -0.1"),
    # schedulers and data
    ("StepLR-step-size", lambda: dl.optim.lr_scheduler.StepLR(dl.optim.SGD(params(), lr=0.1), step_size=0),
     r"StepLR: step_size must be >= 1, got 0"),
    ("CosineAnnealingLR-T_max", lambda: dl.optim.lr_scheduler.CosineAnnealingLR(dl.optim.SGD(params(), lr=0.1), T_max=0),
     r"CosineAnnealingLR: T_max must be >= 1, got 0"),
    ("OneCycleLR-pct_start", lambda: dl.optim.lr_scheduler.OneCycleLR(
        dl.optim.SGD(params(), lr=0.1, momentum=0.9), max_lr=1, total_steps=10, pct_start=1.5),
     r"OneCycleLR: pct_start must be a float in \[0, 1\], got 1.5"),
    ("OneCycleLR-no-length", lambda: dl.optim.lr_scheduler.OneCycleLR(dl.optim.SGD(params(), lr=0.1, momentum=0.9),
                                                                      max_lr=1), r"OneCycleLR: give total_steps"),
    ("OneCycleLR-anneal", lambda: dl.optim.lr_scheduler.OneCycleLR(
        dl.optim.SGD(params(), lr=0.1, momentum=0.9), max_lr=1, total_steps=10, anneal_strategy="exp"),
     r"OneCycleLR: anneal_strategy .*'exp'"),
    ("DataLoader-batch-size", lambda: dl.data.DataLoader(None, batch_size=0), r"DataLoader: batch_size must be >= 1, got 0"),
]


@pytest.mark.parametrize("call, pattern", [row[1:] for row in ARGUMENT_ERRORS],
                         ids=[row[0] for row in ARGUMENT_ERRORS])
def test_invalid_arguments_raise_value_error_naming_op_and_value(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize("layer", [nn.MaxPool2d, nn.AvgPool2d], ids=["MaxPool2d", "AvgPool2d"])
def test_pool_layer_stride_zero_is_rejected(layer):
    with pytest.raises(ValueError, match=r"Pool2d: .*stride"):
        layer(2, stride=0)


def test_wrong_python_types_raise_type_error():
    with pytest.raises(TypeError, match="SGD: optimizer can only optimize Tensors, but one of the params is float"):
        dl.optim.SGD([1.0], lr=0.1)
    with pytest.raises(TypeError, match="Sequential: str is not a Module"):
        nn.Sequential(nn.ReLU(), "relu")
    with pytest.raises(TypeError, match="parameter 'weight'"):
        nn.Linear(2, 2).weight = dl.randn(2, 2)
    # numpy data of a type dlcore has no dtype for (torch raises TypeError too)
    with pytest.raises(TypeError, match="can't convert a numpy array of type <U1"):
        dl.tensor(["a", "b"])
    with pytest.raises(TypeError, match="can't convert a numpy array of type complex128"):
        dl.tensor(np.array([1j]))


# ---- devices ----

CUDA_REQUESTS = {
    "randn": lambda: dl.randn(2, device="cuda"),
    "tensor": lambda: dl.tensor([1.0], device="cuda"),
    "Tensor.to": lambda: dl.randn(2).to("cuda"),
    "Tensor.cuda": lambda: dl.randn(2).cuda(),
    "Module.to": lambda: nn.Linear(2, 2).to("cuda"),
    "Module.cuda": lambda: nn.Linear(2, 2).cuda(),
}


@pytest.mark.skipif(dl.cuda.is_available(), reason="needs a machine without a usable GPU")
@pytest.mark.parametrize("name", list(CUDA_REQUESTS))
def test_cuda_without_gpu_raises_runtime_error(name):
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        CUDA_REQUESTS[name]()


@pytest.mark.parametrize("call", [
    lambda cpu, gpu: cpu + gpu,
    lambda cpu, gpu: F.linear(cpu, gpu),
    lambda cpu, gpu: F.conv2d(cpu.reshape(1, 1, 2, 2), gpu.reshape(1, 1, 2, 2)),
    lambda cpu, gpu: nn.Linear(2, 2).to("cuda")(cpu),
], ids=["add", "linear", "conv2d", "Linear-module"])
def test_mismatched_devices_raise_runtime_error(call):
    if not dl.cuda.is_available():
        pytest.skip("needs a GPU")
    with pytest.raises(RuntimeError, match=r"same device.*cpu.*cuda|cuda.*cpu"):
        call(dl.randn(2, 2), dl.randn(2, 2, device="cuda"))


@pytest.mark.parametrize("name, pattern", [
    ("gpu", r"device type at start of device string: 'gpu'"),
    ("cuda:x", r"Invalid device string: 'cuda:x'"),
    ("cuda:-1", r"Invalid device string: 'cuda:-1'"),
    ("cuda:01", r"Invalid device string: 'cuda:01'"),
])
def test_bad_device_strings_raise_runtime_error(name, pattern):
    # torch raises RuntimeError for device strings it cannot parse
    with pytest.raises(RuntimeError, match=pattern):
        dl.randn(2, device=name)
    with pytest.raises(RuntimeError, match=pattern):
        dl.device(name)


def test_failed_calls_leave_the_interpreter_usable():
    # after a burst of errors (including ones raised inside backward), normal work still runs
    for _, call, _ in SHAPE_ERRORS[:10]:
        with pytest.raises(ValueError):
            call()
    x = dl.randn(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    z = (x * 2.0).sum()
    z.backward()
    assert x.grad is not None and dl.is_grad_enabled()
