# Reductions against PyTorch: sum, mean, prod, amax, amin, max/min (all elements and along a dim),
# argmax/argmin over every dtype, dims (None, int, negative, tuple, keepdim) and layout (contiguous,
# transposed view, 0-size, 0-d) on each device; float64 gradients; a long accurate sum; bad inputs.
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"]
FLOATS = {"float32", "float64", "float16", "bfloat16"}
# Relative tolerances: dlcore rounds once from double (float16/bfloat16 from float accumulation in
# torch), so 16-bit results may differ by an ulp of the output type.
RTOL = {"float32": 1e-5, "float64": 1e-12, "float16": 2e-3, "bfloat16": 1.6e-2}
LAYOUTS = {"contiguous": (3, 4, 5), "transposed": (5, 4, 3), "empty": (0, 4), "scalar": ()}
DIMS = {"contiguous": [None, 0, -1, (0, 2), [1]], "transposed": [None, 1, (0, 1), -1], "empty": [None, 1, 0],
        "scalar": [None, 0, -1]}


def make(layout: str, dtype: str, device: str, seed: int = 0) -> tuple[dl.Tensor, Any]:
    """The same values as a dlcore tensor on `device` and a torch CPU tensor, in `layout`."""
    rng = np.random.default_rng(seed)
    shape = LAYOUTS[layout]
    if dtype in FLOATS:
        data: np.ndarray = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        data = data.astype(np.float32)
    elif dtype == "bool":
        data = rng.random(size=shape) < 0.5
    else:
        data = rng.integers(0 if dtype == "uint8" else -5, 6, size=shape).astype(np.int64)
    d = dl.tensor(data, device=device).to(getattr(dl, dtype))
    t = torch.tensor(data).to(getattr(torch, dtype))
    if layout == "transposed":
        d, t = d.permute(2, 1, 0), t.permute(2, 1, 0)
    return d, t


def as_numpy(x: Any) -> np.ndarray:
    if x.dtype in (dl.bfloat16, torch.bfloat16):
        x = x.float()
    return x.detach().cpu().numpy()


def assert_matches(got: dl.Tensor, want: Any, dtype: str) -> None:
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (got.dtype, want.dtype)
    g, w = as_numpy(got), as_numpy(want)
    assert g.shape == w.shape
    if dtype in FLOATS and g.dtype.kind == "f":
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=RTOL[dtype], atol=RTOL[dtype])
    else:
        np.testing.assert_array_equal(g, w)


def torch_or_error(fn: Any) -> Any:
    try:
        return fn()
    except (RuntimeError, IndexError, TypeError) as e:
        return e


def compare(dl_fn: Any, torch_fn: Any, dtype: str) -> None:
    """Same result as torch, or the same exception type when torch refuses."""
    want = torch_or_error(torch_fn)
    if isinstance(want, Exception):
        with pytest.raises(type(want)):
            dl_fn()
        return
    assert_matches(dl_fn(), want, dtype)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin"])
def test_multi_dim_reductions(device: str, op: str, dtype: str, layout: str) -> None:
    d, t = make(layout, dtype, device)
    for dim in DIMS[layout]:
        for keepdim in (False, True):
            if dim is None and op in ("amax", "amin"):
                compare(lambda: getattr(d, op)(), lambda: getattr(t, op)(), dtype)
                continue
            if dim is None:
                if keepdim:
                    continue  # torch's sum(dim=None, keepdim=True) keeps every dimension; covered by tuples
                compare(lambda: getattr(dl, op)(d), lambda: getattr(torch, op)(t), dtype)
                continue
            tdim = tuple(dim) if isinstance(dim, list) else dim
            compare(lambda: getattr(d, op)(dim, keepdim=keepdim), lambda: getattr(t, op)(tdim, keepdim=keepdim), dtype)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_prod_and_dtype_argument(device: str, dtype: str, layout: str) -> None:
    d, t = make(layout, dtype, device)
    compare(lambda: d.prod(), lambda: t.prod(), dtype)
    for dim in [x for x in DIMS[layout] if isinstance(x, int)]:
        for keepdim in (False, True):
            compare(lambda: dl.prod(d, dim, keepdim), lambda: torch.prod(t, dim, keepdim), dtype)
    compare(lambda: d.sum(dtype=dl.float64), lambda: t.sum(dtype=torch.float64), "float64")
    compare(lambda: d.prod(dtype=dl.float64), lambda: t.prod(dtype=torch.float64), "float64")
    compare(lambda: d.mean(dtype=dl.float64), lambda: t.mean(dtype=torch.float64), "float64")
    if dtype == "uint8":
        compare(lambda: d.sum(dtype=dl.uint8), lambda: t.sum(dtype=torch.uint8), dtype)


def check_indices(t: Any, idx: np.ndarray, values: Any, dim: int | None, keepdim: bool) -> None:
    """The returned indices select the returned values (ties may be broken differently)."""
    i = torch.tensor(idx)
    if dim is None:
        np.testing.assert_array_equal(as_numpy(t.flatten()[i]), as_numpy(values))
    elif t.dim() == 0:
        assert int(i) == 0
    else:
        picked = torch.take_along_dim(t, i if keepdim else i.unsqueeze(dim), dim)
        np.testing.assert_array_equal(as_numpy(picked if keepdim else picked.squeeze(dim)), as_numpy(values))


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_and_arg(device: str, op: str, dtype: str, layout: str) -> None:
    d, t = make(layout, dtype, device)
    compare(lambda: getattr(d, op)(), lambda: getattr(t, op)(), dtype)
    arg = "arg" + op
    for dim in [None] + [x for x in DIMS[layout] if isinstance(x, int)]:
        for keepdim in (False, True):
            want = torch_or_error(lambda: getattr(t, arg)(dim, keepdim=keepdim))
            if isinstance(want, Exception):
                with pytest.raises(type(want)):
                    getattr(d, arg)(dim, keepdim=keepdim)
            else:
                got = getattr(d, arg)(dim, keepdim=keepdim)
                assert got.dtype == dl.int64 and tuple(got.shape) == tuple(want.shape)
                ref = getattr(t, op)() if dim is None else getattr(t, op)(dim, keepdim=keepdim).values
                check_indices(t, as_numpy(got), ref, dim, keepdim)
            if dim is None:
                continue
            want = torch_or_error(lambda: getattr(t, op)(dim, keepdim))
            if isinstance(want, Exception):
                with pytest.raises(type(want)):
                    getattr(dl, op)(d, dim, keepdim)
                continue
            got = getattr(dl, op)(d, dim, keepdim)
            values, indices = got  # tuple unpacking, like torch.return_types.max
            assert got.values is values and got.indices is indices
            assert_matches(values, want.values, dtype)
            check_indices(t, as_numpy(indices), want.values, dim, keepdim)


def test_max_min_with_another_tensor_is_elementwise(device: str) -> None:
    d, t = make("contiguous", "float32", device)
    e, u = make("contiguous", "float32", device, seed=1)
    assert_matches(d.max(e), t.max(u), "float32")
    assert_matches(dl.min(d, e), torch.min(t, u), "float32")


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "prod", "max_dim", "min_dim", "max", "min"])
def test_gradients_match_torch_in_float64(device: str, op: str) -> None:
    rng = np.random.default_rng(3)
    data = rng.standard_normal((5, 4, 3))
    data[0, 1, :] = 0.0          # prod: a slice with several zeros
    data[1, 2, 0] = 0.0          # and one with a single zero
    data[2, :, 1] = data[2, 0, 1]  # amax/amin: ties share the gradient
    d = dl.tensor(data, device=device, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    dv, tv = d.permute(2, 1, 0), t.permute(2, 1, 0)  # through a transposed view
    calls = {
        "sum": (lambda x: x.sum((0, 2), keepdim=True), lambda x: x.sum((0, 2), keepdim=True)),
        "mean": (lambda x: x.mean(-1), lambda x: x.mean(-1)),
        "amax": (lambda x: x.amax(1), lambda x: x.amax(1)),
        "amin": (lambda x: x.amin((0, 2)), lambda x: x.amin((0, 2))),
        "prod": (lambda x: x.prod(2), lambda x: x.prod(2)),
        "max_dim": (lambda x: x.max(1).values, lambda x: x.max(1).values),
        "min_dim": (lambda x: x.min(0, keepdim=True)[0], lambda x: x.min(0, keepdim=True)[0]),
        "max": (lambda x: x.max(), lambda x: x.amax()),  # torch's max() gradient also splits ties evenly
        "min": (lambda x: x.min(), lambda x: x.amin()),
    }
    dl_fn, torch_fn = calls[op]
    dout, tout = dl_fn(dv), torch_fn(tv)
    upstream = rng.standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(upstream))
    dout.backward(dl.tensor(upstream, device=device) if upstream.ndim else dl.full([], float(upstream), dtype=dl.float64, device=device))
    np.testing.assert_allclose(as_numpy(d.grad), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_prod_gradient_of_a_whole_tensor_with_one_zero(device: str) -> None:
    data = np.array([[2.0, 0.0], [3.0, -1.5]])
    d = dl.tensor(data, device=device, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    d.prod().backward()
    t.prod().backward()
    np.testing.assert_allclose(as_numpy(d.grad), t.grad.numpy())


def test_long_float32_sum_is_accurate(device: str) -> None:
    got = dl.full([10**7], 0.1, device=device).sum().item()
    exact = 10**7 * float(np.float32(0.1))  # 1000000.0149...; torch's pairwise sum gives 999999.56
    assert abs(got - exact) <= 0.0625  # one float32 ulp at 1e6


def test_empty_reductions(device: str) -> None:
    e = dl.zeros([0, 3], device=device)
    assert e.sum().item() == 0.0 and e.prod().item() == 1.0
    assert np.isnan(e.mean().item())
    assert tuple(e.amax(1).shape) == (0,)
    with pytest.raises(IndexError, match="amax"):
        e.amax(0)
    with pytest.raises(IndexError, match="max"):
        e.max(0)
    with pytest.raises(RuntimeError, match="max"):
        e.max()
    with pytest.raises(IndexError, match="argmax"):
        e.argmax()


def test_bad_arguments(device: str) -> None:
    x = dl.ones([2, 3], device=device)
    with pytest.raises(IndexError):
        x.sum(2)
    with pytest.raises(IndexError):
        x.amax(-3)
    with pytest.raises(IndexError):
        x.argmax(5)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        x.sum((0, -2))
    with pytest.raises(RuntimeError, match=r"mean\(\): could not infer output dtype.*Got: Long"):
        dl.tensor([1, 2], device=device).mean()
    with pytest.raises(RuntimeError, match="Got: Long"):
        x.mean(dtype=dl.int64)
    with pytest.raises(RuntimeError, match="bool"):
        (x > 0).argmax()
    with pytest.raises(TypeError):
        x.prod((0, 1))


def test_callers_of_the_old_surface_keep_working(device: str) -> None:
    logits = dl.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 3.0]], device=device)
    labels = dl.tensor([1, 0], device=device)
    assert logits.argmax(1).eq(labels).sum().item() == 2
    assert dl.nn.functional.argmax(logits, 1).tolist() == [1, 0]
    assert dl.nn.functional.sum(logits).item() == pytest.approx(7.1, rel=1e-6)
    assert dl.nn.functional.mean(logits, 0).tolist() == pytest.approx([1.55, 1.0, 1.0])
