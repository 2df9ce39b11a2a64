# The Tensor surface a PyTorch user touches first: creation functions, metadata, numpy interop
# (zero-copy export, any-stride import), item(), autograd entry points (backward, accumulation,
# zeroing, no_grad, detach, requires_grad rules) and repr.
import numpy as np
import pytest

import dlcore as dl


# ---- creation, shape, dtype, device ----

def test_creation_functions_shapes_and_values(device):
    assert dl.zeros(2, 3, device=device).shape == (2, 3)
    assert dl.zeros((2, 3), device=device).shape == (2, 3)
    np.testing.assert_array_equal(dl.zeros(2, 3, device=device).cpu().numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(dl.ones(4, device=device).cpu().numpy(), np.ones(4, np.float32))
    np.testing.assert_array_equal(dl.full([2, 2], 1.5, device=device).cpu().numpy(), np.full((2, 2), 1.5, np.float32))
    np.testing.assert_array_equal(dl.arange(5, device=device).cpu().numpy(), np.arange(5, dtype=np.float32))
    assert dl.empty(3, 1, 2, device=device).shape == (3, 1, 2)
    assert dl.zeros(2, dtype=dl.int64).dtype == dl.int64


def test_random_creation_statistics_and_seeding(device):
    uniform = dl.rand(20000, device=device).cpu().numpy()
    assert uniform.min() >= 0.0 and uniform.max() < 1.0
    assert abs(uniform.mean() - 0.5) < 0.01  # std of the mean is 0.002
    normal = dl.randn(20000, device=device).cpu().numpy()
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1.0) < 0.03
    dl.manual_seed(11)
    first = dl.randn(50, device=device).cpu().numpy()
    dl.manual_seed(11)
    np.testing.assert_array_equal(dl.randn(50, device=device).cpu().numpy(), first)
    assert not np.array_equal(dl.randn(50, device=device).cpu().numpy(), first)


def test_tensor_from_python_values_infers_dtype():
    assert dl.tensor([1.0, 2.0]).dtype == dl.float32
    assert dl.tensor([1, 2]).dtype == dl.int64
    assert dl.tensor(np.array([1, 2], np.uint8)).dtype == dl.uint8
    assert dl.tensor(np.array([1.0], np.float64)).dtype == dl.float64  # numpy keeps its dtype, as in torch
    assert dl.tensor([True, False]).dtype == dl.bool
    assert dl.tensor([1, 2], dtype=dl.float32).dtype == dl.float32
    assert dl.tensor([[1, 2], [3, 4]]).shape == (2, 2)


def test_metadata(device):
    t = dl.randn(2, 3, 4, device=device)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == t.ndim == 3 and t.numel() == 24 and len(t) == 2
    assert t.dtype == dl.float32
    assert t.device.type == device and str(t.device) == ("cuda:0" if device == "cuda" else "cpu")
    assert t.is_cuda == (device == "cuda")
    assert t.is_contiguous()


def test_moves_between_devices_keep_values(device):
    values = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    t = dl.tensor(values).to(device)
    assert t.device.type == device
    np.testing.assert_array_equal(t.cpu().numpy(), values)
    np.testing.assert_array_equal(t.to("cpu").to(device).to("cpu").numpy(), values)


def test_zero_dim_results():
    total = dl.tensor([1.0, 2.0, 3.5]).sum()
    assert total.shape == () and total.dim() == 0 and total.item() == 6.5


def test_tensor_from_python_scalar_is_zero_dim():
    assert dl.tensor(2.5).shape == ()
    assert dl.from_numpy(np.array(2.5, np.float32)).shape == ()


# ---- numpy interop ----

def test_numpy_export_is_zero_copy_on_cpu():
    t = dl.zeros(3, 4)
    view = t.numpy()
    view[1, 2] = 7.0
    assert t.sum().item() == 7.0  # the tensor saw the write: same memory
    t.fill_(2.0)
    assert view[0, 0] == 2.0
    assert view.ctypes.data == t.data_ptr()


def test_numpy_view_outlives_the_tensor():
    view = dl.full([1000], 3.0).numpy()  # the tensor is garbage right away; the array keeps the storage
    junk = [dl.full([1000], 9.0) for _ in range(10)]
    assert (view == 3.0).all() and len(junk) == 10


def test_numpy_round_trip_values_and_dtypes():
    for array in (np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32),
                  np.arange(12, dtype=np.int64).reshape(3, 4), np.arange(7, dtype=np.uint8)):
        back = dl.from_numpy(array).numpy()
        assert back.dtype == array.dtype
        np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("make", [lambda a: a.T, lambda a: a[:, ::2], lambda a: a[::-1], lambda a: a[1:, 2:5],
                                  lambda a: np.broadcast_to(a[:1], a.shape), lambda a: a.astype(">f4")],
                         ids=["transposed", "strided", "reversed", "sliced", "broadcast", "big-endian"])
def test_non_contiguous_numpy_input_is_copied_correctly(make, device):
    base = np.random.default_rng(2).standard_normal((6, 8)).astype(np.float32)
    array = make(base)
    for t in (dl.tensor(array, device=device), dl.from_numpy(array).to(device)):
        assert t.shape == array.shape and t.is_contiguous()
        np.testing.assert_array_equal(t.cpu().numpy(), array)


def test_from_numpy_input_is_not_aliased():
    array = np.ones(4, np.float32)
    t = dl.from_numpy(array)
    array[0] = 5.0
    assert t.numpy()[0] == 1.0  # documented: from_numpy copies


def test_item_and_conversions():
    assert dl.tensor([3.25]).item() == 3.25 and isinstance(dl.tensor([3.25]).item(), float)
    assert dl.tensor([4]).item() == 4 and isinstance(dl.tensor([4]).item(), int)
    assert float(dl.tensor([2.5])) == 2.5
    assert dl.tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match=r"item: only one-element tensors.*\[2\]"):
        dl.tensor([1.0, 2.0]).item()


# ---- autograd ----

def test_backward_and_gradient_accumulation(device):
    values = np.float32([1.0, -2.0, 3.0])
    x = dl.tensor(values, device=device, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * values)
    (x * 3.0).sum().backward()  # accumulates, like torch
    np.testing.assert_allclose(x.grad.cpu().numpy(), 2 * values + 3)
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), np.full(3, 3.0))


def test_backward_with_explicit_gradient(device):
    x = dl.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 2.0).backward(dl.tensor([10.0, -1.0], device=device))
    np.testing.assert_allclose(x.grad.cpu().numpy(), [20.0, -2.0])


def test_zero_grad_on_module_and_optimizer(device):
    layer = dl.nn.Linear(3, 2).to(device)
    layer(dl.randn(4, 3, device=device)).sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())
    layer(dl.randn(4, 3, device=device)).sum().backward()
    optimizer = dl.optim.SGD(layer.parameters(), lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.cpu().numpy().any() for p in layer.parameters())


def test_second_backward_needs_retain_graph(device):
    x = dl.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="backward.*second time"):
        y.backward()


def test_optimizer_step_between_forward_and_backward_is_refused(device):
    # fc2 saved its weight for fc1's gradient; stepping first would give a gradient from new weights.
    model = dl.nn.Sequential(dl.nn.Linear(3, 4), dl.nn.ReLU(), dl.nn.Linear(4, 2)).to(device)
    opt = dl.optim.SGD(model.parameters(), lr=0.1)
    model(dl.randn(5, 3, device=device)).sum().backward()
    loss = model(dl.randn(5, 3, device=device)).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation: LinearBackward saved float32\[2, 4\]"):
        loss.backward()


def test_in_place_writes_need_no_grad_on_tensors_that_require_grad(device):
    w = dl.tensor([1.0, 2.0], device=device, requires_grad=True)
    with pytest.raises(ValueError, match=r"fill_: cannot modify float32\[2\].*in place: it requires grad"):
        w.fill_(0.5)
    with dl.no_grad():
        w.fill_(0.5)
    np.testing.assert_allclose(w.detach().cpu().numpy(), [0.5, 0.5])


def test_diamond_graph_accumulates_both_paths(device):
    x = dl.tensor([0.5, -1.5], device=device, requires_grad=True)
    h = x * 2.0
    (h * h + h).sum().backward()  # d/dx (4x^2 + 2x) = 8x + 2
    np.testing.assert_allclose(x.grad.cpu().numpy(), [6.0, -10.0], rtol=1e-6)


def test_no_grad_as_context_and_decorator(device):
    x = dl.randn(3, device=device, requires_grad=True)
    with dl.no_grad():
        y = x * 2.0
        assert not dl.is_grad_enabled()
        with dl.enable_grad():
            z = x * 2.0
    assert dl.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None

    @dl.no_grad()
    def doubled(t):
        return t * 2.0

    assert not doubled(x).requires_grad and dl.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(KeyError):
        with dl.no_grad():
            raise KeyError("boom")
    assert dl.is_grad_enabled()


def test_detach_shares_memory_and_stops_gradients(device):
    x = dl.tensor([1.0, 2.0], device=device, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data_ptr() == x.data_ptr()
    (x * d).sum().backward()  # d is a constant: the gradient is d, not 2x
    np.testing.assert_allclose(x.grad.cpu().numpy(), [1.0, 2.0])


def test_requires_grad_rules(device):
    a = dl.randn(2, device=device)
    b = dl.randn(2, device=device, requires_grad=True)
    assert not a.requires_grad and b.requires_grad and b.is_leaf
    assert not (a * a).requires_grad
    c = a * b
    assert c.requires_grad and not c.is_leaf and c.grad_fn is not None
    a.requires_grad_()
    assert a.requires_grad
    with pytest.raises(ValueError, match="requires_grad_.*leaf"):
        c.requires_grad = False
    with pytest.raises(RuntimeError, match="requires_grad_.*floating point.*int64"):
        dl.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="backward.*does not require grad"):
        (a.detach() * 2.0).sum().backward()
    with pytest.raises(ValueError, match=r"backward.*scalar outputs.*\[2\]"):
        (b * 2.0).backward()
    with pytest.raises(RuntimeError, match=r"numpy\(\).*requires grad.*detach"):
        dl.randn(2, requires_grad=True).numpy()  # (a cuda tensor first says it is not on the host, as torch)


def resident_kb() -> int:
    """Current (not peak) resident memory, which a leak raises however high earlier tests peaked."""
    import os  # noqa: PLC0415
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_graphs_are_freed_over_many_steps():
    w = dl.randn(256, 256, requires_grad=True)
    x = dl.randn(64, 256)

    def step() -> None:
        (x @ w).relu().sum().backward()
        w.grad = None

    for _ in range(50):
        step()
    before = resident_kb()
    for _ in range(300):  # a step's graph holds >= 128 KB of saved activations: a leak adds >= 38 MB
        step()
    grown_kb = resident_kb() - before
    assert grown_kb < 15_000, f"resident memory grew by {grown_kb} KB over 300 steps"


# ---- repr ----

def test_repr_shows_values_dtype_and_grad_state():
    # torch's format (tests_py/test_tensor_surface.py compares it with torch's own repr)
    assert repr(dl.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    assert "requires_grad=True" in repr(dl.tensor([1.0], requires_grad=True))
    assert "grad_fn=<" in repr(dl.tensor([1.0], requires_grad=True) * 2.0)
    assert "dtype=dlcore.int32" in repr(dl.tensor([1, 2], dtype=dl.int32))
    big = repr(dl.zeros(2000))
    assert "..." in big and len(big) < 200
