"""Tensor and Module hooks against PyTorch doing the same thing: call order, gradients, replacement,
removal, errors; plus the engine defects of issue 8 §6 (0-d leaf gradients, invalid .grad assignment).
Gradients are compared with rtol=1e-5 (float32, a handful of ops)."""
import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")


def close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def run_tensor_hooks(lib):
    """Hooks on a leaf and a non-leaf, one replacing the gradient; returns the log, x.grad, y.grad."""
    log = []
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    y.register_hook(lambda g: log.append(("y1", g.numpy().tolist())))
    y.register_hook(lambda g: g * 3.0)
    y.register_hook(lambda g: log.append(("y3", g.numpy().tolist())))
    x.register_hook(lambda g: log.append(("x", g.numpy().tolist())))
    x.register_post_accumulate_grad_hook(lambda t: log.append(("post", t.grad.numpy().tolist())))
    (y * 2.0).sum().backward()
    return log, x.grad, y.grad


def test_tensor_hooks_order_replacement_and_retain_grad_match_torch():
    dl_log, dl_xg, dl_yg = run_tensor_hooks(dl)
    t_log, t_xg, t_yg = run_tensor_hooks(torch)
    assert [name for name, _ in dl_log] == [name for name, _ in t_log] == ["y1", "y3", "x", "post"]
    for (_, a), (_, b) in zip(dl_log, t_log):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    close(dl_xg, t_xg)
    close(dl_yg, t_yg)  # retain_grad sees the gradient after the other hooks, as in torch


def test_hook_removal_is_idempotent_and_handles_have_ids():
    x = dl.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h1 = x.register_hook(lambda g: calls.append(1))
    h2 = x.register_hook(lambda g: calls.append(2))
    assert h1.id != h2.id
    h1.remove()
    h1.remove()
    (x * 2.0).sum().backward()
    assert calls == [2]
    with x.register_hook(lambda g: calls.append(3)):
        pass
    (x * 2.0).sum().backward()
    assert calls == [2, 2]


def test_leaf_hook_replaces_gradient_before_accumulation():
    for lib in (dl, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * 0.0 + 7.0)
        (x * 5.0).sum().backward()
        (x * 5.0).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [14.0, 14.0])


def test_hook_registration_errors_match_torch():
    for lib in (dl, torch):
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
            lib.ones(2).register_hook(lambda g: None)
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf"):
            (x * 2.0).register_post_accumulate_grad_hook(lambda t: None)
        with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
            lib.ones(2).retain_grad()
        assert not x.retains_grad
        x.retain_grad()  # a no-op on leaves
        assert not x.retains_grad


def test_hook_exceptions_and_bad_results_propagate_as_python_exceptions():
    x = dl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0

    def boom(g):
        raise KeyError("from the hook")

    h = y.register_hook(boom)
    with pytest.raises(KeyError, match="from the hook"):
        y.sum().backward(retain_graph=True)
    h.remove()
    h = y.register_hook(lambda g: dl.ones(3))
    with pytest.raises(RuntimeError, match="hook has changed the size of value"):
        y.sum().backward(retain_graph=True)
    h.remove()
    y.register_hook(lambda g: "not a tensor")
    with pytest.raises(TypeError):
        y.sum().backward()


class Net:
    """The same two-layer model in both libraries, as a Python subclass of nn.Module."""

    @staticmethod
    def make(lib):
        class TwoLayer(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = lib.nn.Linear(3, 4)
                self.fc2 = lib.nn.Linear(4, 2)

            def forward(self, x):
                return self.fc2(self.fc1(x).relu())

        lib.manual_seed(0)
        return TwoLayer()


def copy_weights(dl_net, torch_net):
    assert list(dl_net.state_dict()) == list(torch_net.state_dict())
    dl_net.load_state_dict({k: v.detach().clone() for k, v in torch_net.state_dict().items()})


def run_module_hooks(lib, net, x_values):
    log = []

    def tag(name):
        return lambda *a: log.append(name)

    for mod_name, mod in (("net", net), ("fc1", net.fc1), ("fc2", net.fc2)):
        mod.register_forward_pre_hook(tag(mod_name + ".pre"))
        mod.register_forward_hook(tag(mod_name + ".fwd"))
        mod.register_full_backward_pre_hook(tag(mod_name + ".bpre"))
        mod.register_full_backward_hook(tag(mod_name + ".bwd"))
    grads = {}

    def capture(module, grad_input, grad_output):
        grads["gi"] = [g if g is None else g.detach().numpy().copy() for g in grad_input]
        grads["go"] = [g.detach().numpy().copy() for g in grad_output]
        return (grad_input[0] * 2.0,)  # doubles the gradient w.r.t. fc2's input

    net.fc2.register_full_backward_hook(capture)
    net.fc1.register_forward_hook(lambda m, args, out: out * 0.5)  # replaces fc1's output
    net.fc1.register_forward_pre_hook(lambda m, args: args[0] + 1.0)  # a single value becomes (value,)
    x = lib.tensor(x_values, requires_grad=True)
    out = net(x)
    (out * out).sum().backward()
    return log, grads, out, x.grad, net.fc1.weight.grad


def test_module_hooks_match_torch_order_and_gradients():
    x_values = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32).tolist()
    torch_net = Net.make(torch)
    dl_net = Net.make(dl)
    copy_weights(dl_net, torch_net)
    d = run_module_hooks(dl, dl_net, x_values)
    t = run_module_hooks(torch, torch_net, x_values)
    assert d[0] == t[0]
    for a, b in zip(d[1]["go"] + d[1]["gi"], t[1]["go"] + t[1]["gi"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(d[2:], t[2:]):
        close(a, b)


def test_module_hook_on_linear_in_sequential_survives_its_python_wrapper_and_removes():
    seq = dl.nn.Sequential(dl.nn.Linear(3, 2), dl.nn.ReLU())
    seen = []
    handle = seq[0].register_forward_hook(lambda m, args, out: seen.append(out.shape))  # wrapper dies here
    seq(dl.randn(4, 3))
    assert seen == [(4, 2)]
    handle.remove()
    handle.remove()
    seq(dl.randn(4, 3))
    assert seen == [(4, 2)]


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_backward_hook_without_input_gradient_gets_none_like_torch():
    for lib in (dl, torch):
        lin = lib.nn.Linear(3, 2)
        calls = []
        lin.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go[0].shape)))
        lin(lib.randn(4, 3)).sum().backward()
        assert calls[0][0] == (None,) and tuple(calls[0][1]) == (4, 2)


def test_module_hook_exceptions_propagate():
    lin = dl.nn.Linear(3, 2)

    def boom(*args):
        raise ValueError("hook failed")

    with lin.register_forward_pre_hook(boom):
        with pytest.raises(ValueError, match="hook failed"):
            lin(dl.randn(1, 3))
    lin(dl.randn(1, 3))  # removed by the with block
    lin.register_full_backward_hook(boom)
    with pytest.raises(ValueError, match="hook failed"):
        lin(dl.randn(1, 3, requires_grad=True)).sum().backward()


# ---- engine defects (issue 8 §6) ----

def test_zero_dim_leaf_gradient_keeps_shape():
    for lib in (dl, torch):
        x = lib.tensor(2.0, requires_grad=True)
        (x * x).sum().backward()
        assert tuple(x.grad.shape) == ()
        assert x.grad.item() == 4.0
        y = lib.tensor(3.0, requires_grad=True)
        (y * 2.0).mean().backward()
        assert tuple(y.grad.shape) == ()


def test_grad_assignment_rejections_match_torch():
    for lib in (dl, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="can't assign Variable as its own grad"):
            x.grad = x
        with pytest.raises(RuntimeError, match="size"):
            x.grad = lib.ones(4)
        with pytest.raises(TypeError):
            x.grad = 5
    x = dl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="dtype"):
        x.grad = dl.zeros(3, dtype=dl.int64)
    x.grad = dl.ones(3)
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])
