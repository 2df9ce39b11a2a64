# Every differentiable op of dlcore against PyTorch on random inputs: forward output and the
# gradient of every input (helpers.check_op), over the awkward cases where kernels usually break
# (broadcasting, stride 2, padding, dilation, groups, non-square kernels, batch 1, odd channels).
import numpy as np
import pytest

import dlcore as dl
import dlcore.nn.functional as F
from helpers import check_op, gradcheck

torch = pytest.importorskip("torch")  # parity tests run where torch is installed (CI installs it)
tF = torch.nn.functional


# ---- elementwise arithmetic with broadcasting ----

BROADCAST_SHAPES = [((2, 3), (2, 3)), ((4, 3, 5), (3, 1)), ((4, 1, 5), (3, 1)), ((2, 3, 4, 4), (1, 3, 1, 1)),
                    ((5, 7), (7,)), ((3,), (2, 3))]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_ops_broadcast(device, name, shapes):
    op = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b}[name]
    # division gets inputs away from zero so its gradients stay O(1) and comparable
    low, high = (0.5, 2.0) if name == "div" else (None, None)
    check_op(op, op, shapes, device=device, low=low, high=high)
    check_op(op, getattr(dl, name), shapes, device=device, low=low, high=high, seed=3)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_ops_with_python_scalars_both_sides(device, name):
    scalar = 1.7
    forward = {"add": lambda a: a + scalar, "sub": lambda a: a - scalar, "mul": lambda a: a * scalar,
               "div": lambda a: a / scalar}[name]
    reverse = {"add": lambda a: scalar + a, "sub": lambda a: scalar - a, "mul": lambda a: scalar * a,
               "div": lambda a: scalar / a}[name]
    check_op(forward, forward, [(3, 4)], device=device, low=0.5, high=2.0)
    check_op(reverse, reverse, [(3, 4)], device=device, low=0.5, high=2.0)


def test_negation_and_chained_expression(device):
    expr = lambda a, b: -(a * b - a / (b * b + 1.0)) + 2.0  # noqa: E731  (one expression, reused)
    check_op(expr, expr, [(3, 5), (5,)], device=device)


def test_zero_dim_tensor_operand(device):
    check_op(lambda a, b: a * b, lambda a, b: a * b, [(2, 3), ()], device=device)


# ---- dense ----

@pytest.mark.parametrize("shapes", [((5, 7), (7, 3)), ((1, 9), (9, 1)), ((33, 65), (65, 17))], ids=str)
def test_matmul(device, shapes):
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, shapes, device=device)
    check_op(torch.matmul, F.matmul, shapes, device=device, seed=1)


@pytest.mark.parametrize("batch", [1, 6])
def test_linear_with_and_without_bias(device, batch):
    check_op(tF.linear, F.linear, [(batch, 7), (3, 7), (3,)], device=device)
    check_op(tF.linear, F.linear, [(batch, 7), (3, 7)], device=device, seed=1)



@pytest.mark.parametrize("bias", [True, False])
def test_linear_relu_equals_relu_of_linear(device, bias):
    shapes = [(9, 7), (5, 7), (5,)] if bias else [(9, 7), (5, 7)]
    check_op(lambda *a: tF.relu(tF.linear(*a)), F.linear_relu, shapes, device=device)
    # Bit-identical to the unfused pair, gradients included (the same kernels in the same order).
    x, w = dl.randn(9, 7, device=device, requires_grad=True), dl.randn(5, 7, device=device, requires_grad=True)
    fused, plain = F.linear_relu(x, w), F.relu(F.linear(x, w))
    np.testing.assert_array_equal(fused.detach().cpu().numpy(), plain.detach().cpu().numpy())
    fused.sum().backward()
    g_fused = x.grad.cpu().numpy()
    x.grad = None
    plain.sum().backward()
    np.testing.assert_array_equal(g_fused, x.grad.cpu().numpy())


CONV_CASES = [  # (input, weight, stride, padding, dilation, groups)
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 3, 9, 8), (5, 3, 3, 3), 2, 1, 1, 1),
    ((1, 1, 28, 28), (6, 1, 5, 5), 1, 2, 1, 1),
    ((1, 5, 7, 11), (3, 5, 2, 4), 1, (1, 2), 1, 1),
    ((3, 3, 10, 9), (7, 3, 3, 1), (2, 1), (0, 1), 1, 1),
    ((2, 3, 11, 11), (4, 3, 3, 3), 1, 2, 2, 1),
    ((2, 6, 7, 7), (9, 2, 3, 3), 1, 1, 1, 3),
    ((2, 4, 6, 6), (4, 1, 3, 3), 2, 1, 1, 4),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CONV_CASES, ids=str)
def test_conv2d(device, x_shape, w_shape, stride, padding, dilation, groups):
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_op(lambda x, w, b: tF.conv2d(x, w, b, **args), lambda x, w, b: F.conv2d(x, w, b, **args),
             [x_shape, w_shape, (w_shape[0],)], device=device)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CONV_CASES[:3] + CONV_CASES[-1:], ids=str)
def test_conv2d_relu_equals_relu_of_conv2d(device, x_shape, w_shape, stride, padding, dilation, groups):
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_op(lambda x, w, b: tF.relu(tF.conv2d(x, w, b, **args)), lambda x, w, b: F.conv2d_relu(x, w, b, **args),
             [x_shape, w_shape, (w_shape[0],)], device=device)
    check_op(lambda x, w: tF.relu(tF.conv2d(x, w, **args)), lambda x, w: F.conv2d_relu(x, w, **args),
             [x_shape, w_shape], device=device, seed=1)


def test_conv2d_without_bias(device):
    check_op(lambda x, w: tF.conv2d(x, w, padding=1), lambda x, w: F.conv2d(x, w, padding=1),
             [(2, 3, 6, 5), (4, 3, 3, 3)], device=device)


# ---- pooling ----

POOL_CASES = [  # (input, kernel, stride, padding)
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 3, 9, 8), 3, 2, 1),
    ((1, 5, 7, 7), 3, 1, 0),
    ((2, 1, 10, 7), (3, 2), (2, 1), (1, 0)),
]


@pytest.mark.parametrize("shape, kernel, stride, padding", POOL_CASES, ids=str)
def test_max_pool2d(device, shape, kernel, stride, padding):
    check_op(lambda x: tF.max_pool2d(x, kernel, stride, padding), lambda x: F.max_pool2d(x, kernel, stride, padding),
             [shape], device=device)


@pytest.mark.parametrize("shape, kernel, stride, padding", POOL_CASES, ids=str)
def test_avg_pool2d(device, shape, kernel, stride, padding):
    check_op(lambda x: tF.avg_pool2d(x, kernel, stride, padding), lambda x: F.avg_pool2d(x, kernel, stride, padding),
             [shape], device=device)


def test_max_pool2d_routes_gradient_to_the_maximum_only(device):
    x = np.array([[[[1, 5, 2], [0, 3, 4], [7, 1, 6]]]], np.float32)
    t = dl.tensor(x, device=device, requires_grad=True)
    F.max_pool2d(t, 2, 1).sum().backward()  # windows' maxima: 5, 5, 7, 6 -> 5 is counted twice
    expected = np.array([[[[0, 2, 0], [0, 0, 0], [1, 0, 1]]]], np.float32)
    np.testing.assert_array_equal(t.grad.cpu().numpy(), expected)


# ---- activations and shapes ----

@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activations(device, name):
    check_op(getattr(torch, name), getattr(F, name), [(4, 3, 5)], device=device)
    check_op(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), [(7,)], device=device, seed=1)


def test_activation_modules(device):
    for torch_module, dl_module in [(torch.nn.ReLU(), dl.nn.ReLU()), (torch.nn.Sigmoid(), dl.nn.Sigmoid()),
                                    (torch.nn.Tanh(), dl.nn.Tanh())]:
        check_op(torch_module, dl_module, [(2, 9)], device=device)


def test_flatten_reshape_view(device):
    check_op(lambda x: x.flatten(1), lambda x: x.flatten(1), [(3, 4, 2, 2)], device=device)
    check_op(lambda x: torch.flatten(x, 1, 2), lambda x: F.flatten(x, 1, 2), [(3, 4, 2, 2)], device=device)
    check_op(lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1), [(3, 4, 2)], device=device)
    check_op(lambda x: x.view(2, 12), lambda x: x.view(2, 12), [(3, 4, 2)], device=device)
    check_op(lambda x: x.reshape(6, 4), lambda x: F.reshape(x, [6, 4]), [(3, 4, 2)], device=device)
    check_op(torch.nn.Flatten(), dl.nn.Flatten(), [(2, 3, 4)], device=device)


# ---- dropout ----

def test_dropout_p0_and_eval_are_identity(device):
    check_op(lambda x: tF.dropout(x, 0.0, True), lambda x: F.dropout(x, 0.0, True), [(4, 50)], device=device)
    check_op(lambda x: x, lambda x: F.dropout(x, 0.7, training=False), [(4, 50)], device=device)
    module = dl.nn.Dropout(0.5)
    module.eval()
    check_op(lambda x: x, module, [(4, 50)], device=device)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_mask_statistics_and_gradient_equals_mask(device, p):
    dl.manual_seed(123)
    x = dl.tensor(np.random.default_rng(0).uniform(1, 2, (200, 250)).astype(np.float32), device=device,
                  requires_grad=True)
    y = F.dropout(x, p, True)
    y.backward(dl.ones(200, 250, device=device))
    out, xs, grad = y.detach().cpu().numpy(), x.detach().cpu().numpy(), x.grad.cpu().numpy()
    kept = out != 0
    # 50000 Bernoulli draws: the dropped fraction is within 4 standard deviations (~0.009) of p
    assert abs((1 - kept.mean()) - p) < 4 * np.sqrt(p * (1 - p) / out.size)
    np.testing.assert_allclose(out[kept], xs[kept] / (1 - p), rtol=1e-6)
    np.testing.assert_array_equal(grad, kept / np.float32(1 - p))


def test_dropout_masks_differ_between_calls_and_repeat_with_the_seed(device):
    x = dl.ones(64, 64, device=device)
    dl.manual_seed(7)
    first, second = F.dropout(x, 0.5).cpu().numpy(), F.dropout(x, 0.5).cpu().numpy()
    dl.manual_seed(7)
    again = F.dropout(x, 0.5).cpu().numpy()
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


# ---- batch norm ----

def test_batch_norm_training_matches_torch_and_updates_running_stats(device):
    running = {"mean": np.random.default_rng(5).standard_normal(3).astype(np.float32),
               "var": np.random.default_rng(6).uniform(0.5, 2, 3).astype(np.float32)}
    t_mean, t_var = torch.tensor(running["mean"]), torch.tensor(running["var"])
    d_mean, d_var = dl.tensor(running["mean"], device=device), dl.tensor(running["var"], device=device)
    check_op(lambda x, w, b: tF.batch_norm(x, t_mean, t_var, w, b, training=True, momentum=0.2),
             lambda x, w, b: F.batch_norm(x, d_mean, d_var, w, b, training=True, momentum=0.2),
             [(4, 3, 5, 6), (3,), (3,)], device=device)
    np.testing.assert_allclose(d_mean.cpu().numpy(), t_mean.numpy(), atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(d_var.cpu().numpy(), t_var.numpy(), atol=1e-6, rtol=1e-5)  # unbiased var


def running_stats(channels: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.standard_normal(channels).astype(np.float32), rng.uniform(0.5, 2, channels).astype(np.float32)


def test_batch_norm_eval_uses_running_stats(device):
    mean, var = running_stats(3)
    weight, bias = np.float32([0.5, -1.5, 2.0]), np.float32([0.1, 0.2, -0.3])
    check_op(lambda x: tF.batch_norm(x, torch.tensor(mean), torch.tensor(var), torch.tensor(weight),
                                     torch.tensor(bias), training=False),
             lambda x: F.batch_norm(x, dl.tensor(mean, device=device), dl.tensor(var, device=device),
                                    dl.tensor(weight, device=device), dl.tensor(bias, device=device), training=False),
             [(2, 3, 4, 4)], device=device)


def test_batch_norm_eval_gradients_reach_weight_and_bias(device):
    mean, var = running_stats(3)
    check_op(lambda x, w, b: tF.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b, training=False),
             lambda x, w, b: F.batch_norm(x, dl.tensor(mean, device=device), dl.tensor(var, device=device), w, b,
                                          training=False),
             [(2, 3, 4, 4), (3,), (3,)], device=device)


def test_batch_norm_module_train_then_eval(device):
    torch_bn, dl_bn = torch.nn.BatchNorm2d(5), dl.nn.BatchNorm2d(5).to(device)
    for step in range(3):
        check_op(torch_bn, dl_bn, [(3, 5, 4, 4)], device=device, seed=step, grad=False)
    np.testing.assert_allclose(dl_bn.running_var.cpu().numpy(), torch_bn.running_var.numpy(), rtol=1e-5)
    torch_bn.eval(), dl_bn.eval()
    check_op(torch_bn, dl_bn, [(2, 5, 4, 4)], device=device, seed=9, grad=False)


# ---- softmax and loss ----

@pytest.mark.parametrize("shape", [(4, 10), (1, 3), (2, 3, 7)], ids=str)
def test_softmax_and_log_softmax(device, shape):
    check_op(lambda x: tF.softmax(x, -1), lambda x: F.softmax(x, -1), [shape], device=device)
    check_op(lambda x: tF.log_softmax(x, -1), lambda x: F.log_softmax(x), [shape], device=device)


def test_log_softmax_is_stable_for_large_logits(device):
    logits = np.array([[1000.0, 0.0, -1000.0], [88.0, 89.0, 90.0]], np.float32)
    check_op(lambda x: tF.log_softmax(x, -1), lambda x: F.log_softmax(x), inputs=[logits], device=device)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy(device, reduction, smoothing):
    labels = np.array([3, 0, 9, 9, 1, 5, 2], np.int64)
    check_op(lambda x: tF.cross_entropy(x, torch.tensor(labels), reduction=reduction, label_smoothing=smoothing),
             lambda x: F.cross_entropy(x, dl.tensor(labels, device=device), reduction=reduction,
                                       label_smoothing=smoothing),
             [(7, 10)], device=device)


def test_cross_entropy_loss_module_batch_one(device):
    labels = np.array([2], np.int64)
    check_op(lambda x: torch.nn.CrossEntropyLoss(label_smoothing=0.2)(x, torch.tensor(labels)),
             lambda x: dl.nn.CrossEntropyLoss(label_smoothing=0.2)(x, dl.tensor(labels, device=device)),
             [(1, 4)], device=device)


# ---- reductions and comparisons ----

def test_sum_and_mean(device):
    check_op(lambda x: x.sum(), lambda x: x.sum(), [(3, 4, 5)], device=device)
    check_op(lambda x: x.mean(), lambda x: x.mean(), [(3, 4, 5)], device=device, seed=1)
    check_op(torch.sum, F.sum, [(1000,)], device=device, seed=2, atol=1e-4)
    check_op(torch.mean, F.mean, [(2, 7)], device=device, seed=3)


def test_argmax_and_eq(device):
    x = np.random.default_rng(0).standard_normal((9, 6)).astype(np.float32)
    index = dl.tensor(x, device=device).argmax(1)
    assert index.dtype == dl.int64
    np.testing.assert_array_equal(index.cpu().numpy(), x.argmax(1))
    np.testing.assert_array_equal(F.argmax(dl.tensor(x, device=device), -1).cpu().numpy(), x.argmax(1))
    labels = x.argmax(1).copy()
    labels[::2] = (labels[::2] + 1) % 6
    matches = index == dl.tensor(labels, device=device)
    assert matches.dtype == dl.bool
    np.testing.assert_array_equal(matches.cpu().numpy(), x.argmax(1) == labels)
    total = matches.sum()
    assert total.dtype == dl.int64 and total.item() == 4  # rows 1, 3, 5, 7 left untouched


# ---- finite differences, independent of torch ----

def test_gradcheck_of_composite_expression(device):
    rng = np.random.default_rng(0)
    fn = lambda x, w: F.log_softmax(F.tanh(F.linear(x, w)) * 2.0)  # noqa: E731
    gradcheck(fn, [rng.standard_normal((3, 4)), rng.standard_normal((5, 4))], device=device)


def test_gradcheck_of_conv_pool_chain(device):
    rng = np.random.default_rng(1)
    fn = lambda x, w: F.avg_pool2d(F.relu(F.conv2d(x, w, stride=2, padding=1)), 2)  # noqa: E731
    gradcheck(fn, [rng.standard_normal((1, 2, 7, 7)), rng.standard_normal((3, 2, 3, 3))], device=device)


def test_harnesses_detect_wrong_gradients(device):
    # the harnesses themselves must be able to fail: a gradient cut by detach() is half the true one
    with pytest.raises(AssertionError, match="finite differences"):
        gradcheck(lambda x: x * x.detach(), [np.random.default_rng(0).standard_normal(4)], device=device)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        check_op(lambda x: x * x, lambda x: x * x.detach(), [(4,)], device=device)
    with pytest.raises(AssertionError, match="forward"):
        check_op(torch.sigmoid, F.tanh, [(4,)], device=device)
