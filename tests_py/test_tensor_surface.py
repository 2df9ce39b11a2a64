# The Tensor/ops surface of issue 9 against torch: statistics (var/std/logsumexp/norm/all/any),
# sorting and scans (sort/argsort/topk/unique/cumsum/cumprod), rearranging (clone/flip/roll/repeat/
# tril/triu), the matmul family (mm/bmm/matmul/addmm/dot/outer/einsum), factories, random fills,
# repr and grad-mode helpers. Values and errors are compared with torch; every differentiable op's
# float64 gradient is compared with torch's and with central finite differences.
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pytest
import torch

import dlcore as dl

# float64 on both sides: the same math to rounding (reductions may sum in another order).
ATOL, RTOL = 1e-10, 1e-9
FD_EPS, FD_TOL = 1e-6, 1e-6


def _pair(array: np.ndarray, device: str, grad: bool) -> tuple[torch.Tensor, dl.Tensor]:
    return (torch.tensor(array, requires_grad=grad and array.dtype.kind == "f"),
            dl.tensor(array, device=device, requires_grad=grad and array.dtype.kind == "f"))


def _outputs(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def compare(torch_fn: Callable[..., Any], dl_fn: Callable[..., Any], arrays: Sequence[np.ndarray], *,
            device: str = "cpu", grad: bool = True, finite_differences: bool = True) -> None:
    """Runs both frameworks on the same inputs; compares outputs (values, dtype) and, when `grad`,
    the gradients of sum(w * out) for random w against torch and finite differences."""
    arrays = [np.ascontiguousarray(a) for a in arrays]  # finite differences perturb them in place
    pairs = [_pair(a, device, grad) for a in arrays]
    t_out, d_out = _outputs(torch_fn(*[p[0] for p in pairs])), _outputs(dl_fn(*[p[1] for p in pairs]))
    assert len(t_out) == len(d_out)
    for t, d in zip(t_out, d_out):
        got = d.detach().cpu().numpy()
        want = t.detach().numpy()
        assert got.shape == want.shape, f"shape: dlcore {got.shape}, torch {want.shape}"
        assert str(d.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"dtype: {d.dtype} vs {t.dtype}"
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
    if not grad:
        return
    rng = np.random.default_rng(7)
    weights = [rng.standard_normal(t.shape) for t in t_out if t.dtype.is_floating_point]
    floating = [i for i, t in enumerate(t_out) if t.dtype.is_floating_point]
    if not floating:
        return
    sum(torch.sum(t_out[i] * torch.tensor(w)) for i, w in zip(floating, weights)).backward()
    loss = None
    for i, w in zip(floating, weights):
        term = (d_out[i] * dl.tensor(w, device=device)).sum()
        loss = term if loss is None else loss + term
    if not loss.requires_grad:  # no gradient recorded (norm with p=0): torch's must be zero
        assert all(t.grad is None or not t.grad.any() for t, _ in pairs)
        return
    loss.backward()
    for (t_in, d_in), array in zip(pairs, arrays):
        if array.dtype.kind != "f":
            continue
        want = t_in.grad.numpy() if t_in.grad is not None else np.zeros(array.shape)
        got = d_in.grad.cpu().numpy() if d_in.grad is not None else np.zeros(array.shape)
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL, err_msg="gradient differs from torch")
        if finite_differences:
            np.testing.assert_allclose(got, _numeric_grad(dl_fn, arrays, array, floating, weights, device),
                                       atol=FD_TOL, rtol=FD_TOL, err_msg="gradient differs from finite differences")


def _numeric_grad(dl_fn: Callable[..., Any], arrays: Sequence[np.ndarray], target: np.ndarray,
                  floating: list[int], weights: list[np.ndarray], device: str) -> np.ndarray:
    def loss() -> float:
        with dl.no_grad():
            outs = _outputs(dl_fn(*[dl.tensor(a, device=device) for a in arrays]))
        return float(sum(np.sum(outs[i].cpu().numpy() * w) for i, w in zip(floating, weights)))
    numeric = np.zeros(target.shape)
    flat = target.reshape(-1)
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + FD_EPS
        up = loss()
        flat[k] = original - FD_EPS
        down = loss()
        flat[k] = original
        numeric.reshape(-1)[k] = (up - down) / (2 * FD_EPS)
    return numeric


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def strided(*shape: int, seed: int = 0) -> np.ndarray:
    """Data for an op applied to a non-contiguous view: every other column of it is used (see
    every_other_column)."""
    return rand(*shape[:-1], 2 * shape[-1], seed=seed)


def every_other_column(fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn applied to x[..., ::2] (a strided view, in either framework)."""
    return lambda x, *rest: fn(x[..., ::2], *rest)


# ---- statistics ----

@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": (0, 2), "keepdim": True}, {"dim": -1, "correction": 0},
                                    {"dim": 1, "unbiased": False}, {"correction": 2.5}])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std(name: str, kwargs: dict, device: str) -> None:
    compare(lambda x: getattr(torch, name)(x, **kwargs), lambda x: getattr(dl, name)(x, **kwargs), [rand(3, 4, 2)],
            device=device)
    compare(lambda x: getattr(x, name)(**kwargs), lambda x: getattr(x, name)(**kwargs), [rand(3, 4, 2, seed=1)],
            device=device, finite_differences=False)


def test_var_mean_std_mean_and_positional_unbiased() -> None:
    compare(lambda x: torch.var_mean(x, 1), lambda x: dl.var_mean(x, 1), [rand(3, 4)])
    compare(lambda x: torch.std_mean(x, dim=0, keepdim=True), lambda x: dl.std_mean(x, dim=0, keepdim=True), [rand(3, 4)])
    compare(lambda x: torch.var(x, False), lambda x: dl.var(x, False), [rand(5)], grad=False)
    with pytest.raises(RuntimeError, match="var"):
        dl.var(dl.tensor([1, 2, 3]))


@pytest.mark.parametrize("kwargs", [{"dim": 1}, {"dim": (0, 1), "keepdim": True}, {"dim": -1}])
def test_logsumexp(kwargs: dict, device: str) -> None:
    compare(lambda x: torch.logsumexp(x, **kwargs), lambda x: dl.logsumexp(x, **kwargs), [rand(3, 4) * 30], device=device)
    big = np.array([[1000.0, 1000.0], [-np.inf, -np.inf]])
    np.testing.assert_allclose(dl.logsumexp(dl.tensor(big), 1).numpy(), torch.logsumexp(torch.tensor(big), 1).numpy())


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, float("inf"), -float("inf"), 0, "fro"])
@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
def test_norm(p: Any, dim: Any, device: str) -> None:
    compare(lambda x: torch.norm(x, p=p, dim=dim), lambda x: dl.norm(x, p=p, dim=dim), [rand(3, 4) + 0.1], device=device,
            finite_differences=p not in (0, float("inf"), -float("inf")))
    compare(lambda x: x.norm(p, dim, True), lambda x: x.norm(p, dim, True), [rand(2, 3)], device=device,
            finite_differences=False)


def test_norm_of_zeros_has_zero_gradient() -> None:
    x = dl.zeros(3, requires_grad=True, dtype=dl.float64)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": (0, 1), "keepdim": True}])
def test_all_any(name: str, kwargs: dict, device: str) -> None:
    values = np.array([[1, 0, 2], [3, 4, 5]], dtype=np.int64)
    compare(lambda x: getattr(torch, name)(x, **kwargs), lambda x: getattr(dl, name)(x, **kwargs), [values], grad=False,
            device=device)
    compare(lambda x: getattr(x > 0, name)(**kwargs), lambda x: getattr(x > 0, name)(**kwargs), [rand(2, 3)], grad=False,
            device=device)
    empty = np.zeros((0, 2))
    compare(lambda x: getattr(torch, name)(x), lambda x: getattr(dl, name)(x), [empty], grad=False, device=device)


# ---- sorting and scans ----

SORT_INPUTS = [rand(4, 5), rand(3, 1, 4), np.zeros((0, 3)), np.array(2.5),
               np.array([[3.0, np.nan, 1.0, 3.0, -np.inf], [0.0, -0.5, np.inf, np.nan, 2.0]])]


@pytest.mark.parametrize("array", SORT_INPUTS, ids=["random", "3d", "empty", "0d", "nan_inf"])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"descending": True}, {"dim": 0, "descending": True, "stable": True}])
def test_sort_argsort(array: np.ndarray, kwargs: dict, device: str) -> None:
    if array.ndim == 0 and kwargs.get("dim") == 0:
        kwargs = {k: v for k, v in kwargs.items() if k != "dim"}
    kw = dict(kwargs, stable=True)
    has_nan = bool(np.isnan(array).any())
    compare(lambda x: torch.sort(x, **kw), lambda x: dl.sort(x, **kw), [array], device=device,
            finite_differences=not has_nan and array.size < 30)
    compare(lambda x: torch.argsort(x, **kw), lambda x: x.argsort(**kw), [array], grad=False, device=device)
    result = dl.sort(dl.tensor(array), **kw)
    assert isinstance(result, dl.return_types.sort) and result.values is result[0]


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32", "float16"])
def test_sort_dtypes_are_stable(dtype: str, device: str) -> None:
    values = np.random.default_rng(3).integers(0, 3, size=(3, 7)).astype(dtype)
    for descending in (False, True):
        t = torch.sort(torch.tensor(values), descending=descending, stable=True)
        d = dl.sort(dl.tensor(values, device=device), descending=descending)
        np.testing.assert_array_equal(d.values.cpu().numpy(), t.values.numpy())
        np.testing.assert_array_equal(d.indices.cpu().numpy(), t.indices.numpy())


@pytest.mark.parametrize("kwargs", [{"k": 2}, {"k": 3, "dim": 0}, {"k": 1, "largest": False}, {"k": 0}, {"k": 5}])
def test_topk(kwargs: dict, device: str) -> None:
    compare(lambda x: torch.topk(x, **kwargs), lambda x: dl.topk(x, **kwargs), [rand(4, 5)], device=device)
    compare(every_other_column(lambda x: x.topk(**kwargs)), every_other_column(lambda x: x.topk(**kwargs)),
            [strided(4, 5)], finite_differences=False, device=device)


def test_topk_and_sort_errors() -> None:
    with pytest.raises(RuntimeError, match="topk"):
        dl.topk(dl.rand(3), 4)
    with pytest.raises(IndexError):
        dl.sort(dl.rand(3), dim=2)
    if dl.cuda.is_available():  # unique(dim=) sorts slices on the host: CUDA tensors are refused by name
        with pytest.raises(RuntimeError, match="unique.*CUDA"):
            dl.unique(dl.rand(3, 2, device="cuda"), dim=0)


@pytest.mark.parametrize("array", [np.array([[3, 1, 2], [1, 3, 7]]), np.array([2.5, -1.0, 2.5, 0.0]),
                                   np.zeros((0,), dtype=np.int64), np.array([True, False, True])])
def test_unique(array: np.ndarray, device: str) -> None:
    for inverse in (False, True):
        for counts in (False, True):
            compare(lambda x: torch.unique(x, return_inverse=inverse, return_counts=counts),
                    lambda x: dl.unique(x, return_inverse=inverse, return_counts=counts), [array], grad=False,
                    device=device)


@pytest.mark.parametrize("array", [np.array([[1, 2], [1, 2], [0, 5], [1, -3]]), np.array([[3, 1, 3], [1, 3, 1]]),
                                   np.array([[[1.5, 2.0], [0.0, 1.0]], [[1.5, 2.0], [0.0, 1.0]], [[1.5, 2.0], [0.0, 0.5]]]),
                                   np.array([True, False, True]), np.zeros((0, 3), dtype=np.int64),
                                   np.zeros((3, 0), dtype=np.float32)],
                         ids=["rows", "columns", "3d", "bool", "no-rows", "empty-rows"])
def test_unique_dim(array: np.ndarray) -> None:
    for dim in range(-array.ndim, array.ndim):
        if any(size == 0 for k, size in enumerate(array.shape) if k != dim % array.ndim):
            with pytest.raises(RuntimeError, match="0 sized dimensions"):
                dl.unique(dl.tensor(array), dim=dim)
            continue
        for inverse in (False, True):
            for counts in (False, True):
                compare(lambda x: torch.unique(x, dim=dim, return_inverse=inverse, return_counts=counts),
                        lambda x: dl.unique(x, dim=dim, return_inverse=inverse, return_counts=counts), [array], grad=False)
        compare(lambda x: x.unique(sorted=False, dim=dim), lambda x: x.unique(sorted=False, dim=dim), [array], grad=False)


def test_unique_dim_errors() -> None:
    with pytest.raises(IndexError):
        dl.unique(dl.tensor([[1, 2]]), dim=2)
    with pytest.raises(IndexError):
        dl.unique(dl.tensor(3), dim=0)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("array", [rand(3, 4), rand(2, 3, 4), np.zeros((0, 2)), np.array(1.5),
                                   np.array([[2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 1.5, -2.0, 0.5, 3.0]])],
                         ids=["random", "3d", "empty", "0d", "zeros"])
def test_cumsum_cumprod(name: str, array: np.ndarray, device: str) -> None:
    for dim in ([0, -1] if array.ndim else [0]):
        compare(lambda x: getattr(torch, name)(x, dim), lambda x: getattr(dl, name)(x, dim), [array], device=device)
        compare(lambda x: getattr(x, name)(dim=dim), lambda x: getattr(x, name)(dim=dim), [array],
                finite_differences=False, device=device)


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool", "int64"])
def test_cumsum_integers_and_dtype(dtype: str, device: str) -> None:
    values = np.array([[1, 2, 0], [3, 1, 1]]).astype(dtype)
    for name in ("cumsum", "cumprod"):
        compare(lambda x: getattr(torch, name)(x, 1), lambda x: getattr(dl, name)(x, 1), [values], grad=False,
                device=device)
        compare(lambda x: getattr(torch, name)(x, 0, dtype=torch.float64),
                lambda x: getattr(dl, name)(x, 0, dtype=dl.float64), [values], grad=False, device=device)


# ---- rearranging ----

@pytest.mark.parametrize("array", [rand(2, 3, 4), rand(3, 4), np.zeros((0, 3))], ids=["3d", "2d", "empty"])
def test_flip_roll_repeat(array: np.ndarray) -> None:
    compare(lambda x: torch.flip(x, (0, -1)), lambda x: dl.flip(x, (0, -1)), [array])
    compare(lambda x: x.flip(1), lambda x: x.flip(1), [array])
    compare(lambda x: x.flip(dims=[0]), lambda x: x.flip(dims=[0]), [array], finite_differences=False)
    compare(lambda x: torch.roll(x, 2), lambda x: dl.roll(x, 2), [array])
    compare(lambda x: torch.roll(x, (1, -5), (0, 1)), lambda x: dl.roll(x, (1, -5), (0, 1)), [array])
    compare(lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), [array[..., :2] if array.ndim == 3 else array])
    compare(lambda x: x.repeat((2, 1, 1, 2)), lambda x: x.repeat((2, 1, 1, 2)), [array[0] if array.ndim == 3 else array])
    with pytest.raises(RuntimeError, match="repeat"):
        dl.tensor(array).repeat(2)


@pytest.mark.parametrize("diagonal", [0, 1, -2])
@pytest.mark.parametrize("name", ["tril", "triu"])
def test_tril_triu(name: str, diagonal: int, device: str) -> None:
    compare(lambda x: getattr(torch, name)(x, diagonal), lambda x: getattr(dl, name)(x, diagonal), [rand(2, 3, 4)],
            device=device)
    ints = np.arange(12).reshape(3, 4)
    compare(lambda x: getattr(x, name)(diagonal=diagonal), lambda x: getattr(x, name)(diagonal=diagonal), [ints],
            grad=False, device=device)
    with pytest.raises(RuntimeError, match=name):
        getattr(dl, name)(dl.rand(3))


def test_clone_is_differentiable() -> None:
    compare(every_other_column(lambda x: x.clone() * 2), every_other_column(lambda x: x.clone() * 2), [strided(2, 3)])
    compare(lambda x: torch.clone(x), lambda x: dl.clone(x), [rand(3)])


# ---- the matmul family ----

MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((4,), (2, 4, 3)), ((2, 2, 3), (3,)),
                 ((0, 3), (3, 2)), ((2, 0), (0, 3))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul(shapes: tuple, device: str) -> None:
    a, b = rand(*shapes[0]), rand(*shapes[1], seed=1)
    compare(torch.matmul, dl.matmul, [a, b], device=device, finite_differences=a.size * b.size < 200)
    compare(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], device=device, finite_differences=False)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "int32"])
def test_matmul_dtypes(dtype: str, device: str) -> None:
    a, b = (rand(2, 3, 4) * 3).astype(dtype), (rand(2, 4, 5, seed=1) * 3).astype(dtype)
    want = torch.matmul(torch.tensor(a).double(), torch.tensor(b).double()).numpy()
    got = dl.matmul(dl.tensor(a, device=device), dl.tensor(b, device=device))
    assert str(got.dtype).endswith(dtype)
    tol = {"float32": 1e-5, "float16": 2e-2}.get(dtype, 0)
    np.testing.assert_allclose(got.cpu().numpy().astype(np.float64), want.astype(dtype).astype(np.float64), rtol=tol,
                               atol=tol * 10)


def test_mm_bmm_addmm_dot_outer(device: str) -> None:
    compare(lambda a, b: torch.mm(a, b[:, ::2]), lambda a, b: dl.mm(a, b[:, ::2]), [rand(2, 3), strided(3, 4)], device=device)
    compare(torch.bmm, dl.bmm, [rand(2, 2, 3), rand(2, 3, 4, seed=1)], device=device)
    compare(lambda i, a, b: torch.addmm(i, a, b, beta=0.5, alpha=2), lambda i, a, b: dl.addmm(i, a, b, beta=0.5, alpha=2),
            [rand(4), rand(2, 3), rand(3, 4)], device=device)
    compare(lambda i, a, b: i.addmm(a, b), lambda i, a, b: i.addmm(a, b), [rand(2, 4), rand(2, 3), rand(3, 4)], device=device,
            finite_differences=False)
    compare(torch.dot, dl.dot, [rand(5), rand(5, seed=1)], device=device)
    compare(torch.outer, dl.outer, [rand(3), rand(4, seed=1)], device=device)
    compare(lambda a, b: a.mm(b), lambda a, b: a.mm(b), [rand(2, 3), rand(3, 2)], device=device, finite_differences=False)
    nan = dl.full((2, 2), float("nan"), device=device)
    assert not dl.addmm(nan, dl.rand(2, 3, device=device), dl.rand(3, 2, device=device), beta=0).isnan().any().item()


@pytest.mark.parametrize("fn, shapes", [
    (lambda m: m.mm, [(2, 3), (4, 3)]), (lambda m: m.mm, [(2, 3, 1), (3, 1)]), (lambda m: m.bmm, [(2, 2, 3), (3, 3, 2)]),
    (lambda m: m.dot, [(3,), (4,)]), (lambda m: m.matmul, [(2, 3), (4, 5)]), (lambda m: m.matmul, [(), (3,)]),
    (lambda m: m.matmul, [(2, 2, 3), (3, 3, 4)])])
def test_matmul_family_errors(fn: Callable, shapes: list) -> None:
    arrays = [rand(*s) for s in shapes]
    with pytest.raises(RuntimeError):
        fn(torch)(*[torch.tensor(a) for a in arrays])
    with pytest.raises(RuntimeError):
        fn(dl)(*[dl.tensor(a) for a in arrays])
    with pytest.raises(RuntimeError, match="dtype"):
        dl.mm(dl.rand(2, 2), dl.rand(2, 2, dtype=dl.float64))


EINSUM_CASES = [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]), ("ij->ji", [(2, 3)]),
                ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("i,j->ij", [(3,), (4,)]), ("ij->", [(2, 3)]),
                ("ij->j", [(2, 3)]), ("bi,bj->ij", [(3, 2), (3, 4)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
                ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]), ("ij,ij->i", [(2, 3), (2, 3)]), ("i,i", [(4,), (4,)]),
                ("ba,ca", [(2, 3), (4, 3)]), ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
                ("ij,kj", [(2, 3), (1, 3)]), ("i,i->", [(0,), (0,)])]


@pytest.mark.parametrize("equation, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum(equation: str, shapes: list, device: str) -> None:
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    compare(lambda *xs: torch.einsum(equation, *xs), lambda *xs: dl.einsum(equation, *xs), arrays, device=device,
            finite_differences=sum(a.size for a in arrays) < 40)
    compare(lambda *xs: torch.einsum(equation, list(xs)), lambda *xs: dl.einsum(equation, list(xs)), arrays,
            device=device, grad=False)


@pytest.mark.parametrize("equation, shapes", [("ij,jk->ik", [(2, 3), (4, 5)]), ("ij->k", [(2, 3)]), ("ij", [(2,)]),
                                              ("i1->i", [(2, 1)]), ("ij,jk", [(2, 3)])])
def test_einsum_errors(equation: str, shapes: list) -> None:
    arrays = [rand(*s) for s in shapes]
    with pytest.raises(RuntimeError):
        torch.einsum(equation, *[torch.tensor(a) for a in arrays])
    with pytest.raises(RuntimeError, match="einsum"):
        dl.einsum(equation, *[dl.tensor(a) for a in arrays])


NON_CONTIGUOUS = {
    "sort": lambda m: lambda x: m.sort(x, dim=0), "topk": lambda m: lambda x: m.topk(x, 2).values,
    "cumsum": lambda m: lambda x: m.cumsum(x, 0), "cumprod": lambda m: lambda x: m.cumprod(x, 1),
    "flip": lambda m: lambda x: m.flip(x, (0, 1)), "roll": lambda m: lambda x: m.roll(x, 1, 1),
    "repeat": lambda m: lambda x: x.repeat(2, 1), "var": lambda m: lambda x: m.var(x, 1),
    "logsumexp": lambda m: lambda x: m.logsumexp(x, 0), "norm": lambda m: lambda x: m.norm(x, dim=1),
    "tril": lambda m: lambda x: m.tril(x), "matmul": lambda m: lambda x: m.matmul(x, x.transpose(0, 1)),
    "bmm": lambda m: lambda x: m.bmm(x.unsqueeze(0), x.transpose(0, 1).unsqueeze(0)),
    "einsum": lambda m: lambda x: m.einsum("ij,kj->ik", x, x), "all": lambda m: lambda x: (x > 0).all(1),
}


@pytest.mark.parametrize("name", NON_CONTIGUOUS)
def test_non_contiguous_inputs(name: str, device: str) -> None:
    make = NON_CONTIGUOUS[name]
    compare(every_other_column(make(torch)), every_other_column(make(dl)), [strided(3, 4)], device=device,
            grad=name != "all", finite_differences=device == "cpu")


# ---- factories ----

def test_like_and_new_factories(device: str) -> None:
    x = dl.rand(2, 3, dtype=dl.float64, device=device)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        y = getattr(dl, name)(x)
        assert y.shape == x.shape and y.dtype == dl.float64 and y.device == x.device
        assert getattr(dl, name)(x, dtype=dl.float32).dtype == dl.float32
    assert dl.full_like(x, 7).tolist() == torch.full_like(torch.zeros(2, 3), 7).tolist()
    r = dl.randint_like(x, 3, 5)
    assert r.dtype == dl.float64 and set(r.cpu().numpy().ravel()) <= {3.0, 4.0}
    assert dl.zeros_like(x, requires_grad=True).requires_grad
    for name, args in (("new_zeros", (2, 2)), ("new_ones", ((3,),)), ("new_empty", ([1, 2],))):
        y = getattr(x, name)(*args)
        want = getattr(torch.zeros(1, dtype=torch.float64), name)(*args)
        assert tuple(y.shape) == tuple(want.shape) and y.dtype == dl.float64 and y.device == x.device
    assert x.new_full((2,), 3).tolist() == [3.0, 3.0]
    assert x.new_tensor([1, 2]).dtype == dl.float64 and x.new_tensor([1, 2], dtype=dl.int64).tolist() == [1, 2]
    assert x.new_zeros(2, dtype=dl.int32).dtype == dl.int32


def test_ranges_eye_meshgrid() -> None:
    for args in ((0, 1, 5), (-2.0, 3.5, 7), (1, 1, 1), (0, 1, 0), (3, -3, 4)):
        np.testing.assert_allclose(dl.linspace(*args).numpy(), torch.linspace(*args).numpy(), rtol=1e-6)
        np.testing.assert_allclose(dl.logspace(*args, base=2).numpy(), torch.logspace(*args, base=2).numpy(), rtol=1e-6)
    assert dl.linspace(0, 1, 3, dtype=dl.float64).dtype == dl.float64
    np.testing.assert_array_equal(dl.eye(3).numpy(), torch.eye(3).numpy())
    np.testing.assert_array_equal(dl.eye(2, 4, dtype=dl.int64).numpy(), torch.eye(2, 4, dtype=torch.int64).numpy())
    a, b, c = rand(3), rand(4), rand(2)
    for indexing in ("ij", "xy"):
        want = torch.meshgrid(torch.tensor(a), torch.tensor(b), torch.tensor(c), indexing=indexing)
        got = dl.meshgrid(dl.tensor(a), dl.tensor(b), dl.tensor(c), indexing=indexing)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    compare(lambda x, y: torch.meshgrid(x, y, indexing="xy"), lambda x, y: dl.meshgrid([x, y], indexing="xy"),
            [rand(3), rand(2)])


def test_randint_randperm_and_generators() -> None:
    r = dl.randint(2, 9, (200,))
    assert r.dtype == dl.int64 and r.min().item() >= 2 and r.max().item() <= 8
    assert dl.randint(4, size=(3, 2)).shape == (3, 2)
    p = dl.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype == dl.int64
    g1, g2 = dl.Generator().manual_seed(5), dl.Generator().manual_seed(5)
    assert dl.randperm(20, generator=g1).tolist() == dl.randperm(20, generator=g2).tolist()
    assert dl.randint(0, 100, (5,), generator=g1).tolist() == dl.randint(0, 100, (5,), generator=g2).tolist()
    x, y = dl.empty(100, dtype=dl.float64), dl.empty(100, dtype=dl.float64)
    assert x.normal_(2, 0.5, generator=g1).tolist() == y.normal_(2, 0.5, generator=g2).tolist()
    with pytest.raises(RuntimeError):
        dl.randint(3, 3, (2,))
    with pytest.raises(TypeError, match="Generator"):
        dl.randperm(3, generator=torch.Generator())


def test_random_fills(device: str) -> None:
    dl.manual_seed(0)
    x = dl.empty(4000, device=device)
    assert x.normal_(3.0, 2.0) is x
    values = x.cpu().numpy()
    assert abs(values.mean() - 3.0) < 0.2 and abs(values.std() - 2.0) < 0.2
    values = x.uniform_(-1, 5).cpu().numpy()
    assert values.min() >= -1 and values.max() < 5 and abs(values.mean() - 2.0) < 0.2
    values = x.random_(3, 7).cpu().numpy()
    assert set(np.unique(values)) == {3.0, 4.0, 5.0, 6.0}
    assert set(np.unique(dl.empty(50, dtype=dl.int64).random_(2).numpy())) <= {0, 1}
    values = x.bernoulli_(0.25).cpu().numpy()
    assert set(np.unique(values)) == {0.0, 1.0} and abs(values.mean() - 0.25) < 0.05
    with pytest.raises(RuntimeError, match="normal_"):
        dl.zeros(2, dtype=dl.int64).normal_()


# ---- protocol, repr and grad modes ----

REPR_CASES = [lambda m: m.tensor([[1.0, 2.5], [3.0, 4.0]]), lambda m: m.tensor([1.0, 2.0]),
              lambda m: m.arange(5), lambda m: m.zeros(2, dtype=m.float64), lambda m: m.tensor(3.5),
              lambda m: m.tensor([1e-5, 1.0, 1e5]), lambda m: m.tensor([True, False]), lambda m: m.zeros(0, 3),
              lambda m: m.zeros(0, dtype=m.int64), lambda m: m.arange(2000), lambda m: m.arange(30.0).reshape(5, 6) / 7,
              lambda m: m.tensor([float("nan"), float("inf"), -1.0]), lambda m: m.arange(1200.0).reshape(20, 60),
              lambda m: m.tensor([1, 2], dtype=m.int32), lambda m: m.arange(40.0) * 1234.5678,
              lambda m: m.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])]


@pytest.mark.parametrize("make", REPR_CASES)
def test_repr_matches_torch(make: Callable) -> None:
    assert repr(make(dl)).replace("dlcore.", "torch.") == repr(make(torch))
    assert str(make(dl)).replace("dlcore.", "torch.") == str(make(torch))


def test_repr_autograd_suffixes() -> None:
    leaf = dl.tensor([1.0, 2.0], requires_grad=True)
    assert repr(leaf) == "tensor([1., 2.], requires_grad=True)"
    assert repr(leaf * 2).startswith("tensor([2., 4.], grad_fn=<Mul")


def test_next_functions() -> None:
    a, b = dl.rand(2, requires_grad=True), dl.rand(2)
    y = (a * b).sum()
    (mul, _), = y.grad_fn.next_functions
    (accumulate, _), (nothing, _) = mul.next_functions
    assert accumulate.name() == "AccumulateGrad" and accumulate.variable.data_ptr() == a.data_ptr() and nothing is None


def test_tensor_helpers() -> None:
    x = dl.rand(3, 4, dtype=dl.float64)
    assert dl.is_tensor(x) and not dl.is_tensor(np.zeros(2)) and dl.numel(x) == 12
    assert x.nbytes == 96 and x.element_size() == 8 and x.is_floating_point()
    assert x.to("cpu", dl.float32, non_blocking=True, copy=True).dtype == dl.float32


@pytest.mark.parametrize("make", [lambda m: m.no_grad, lambda m: m.no_grad(), lambda m: m.inference_mode(),
                                  lambda m: m.inference_mode])
def test_grad_mode_decorators(make: Callable) -> None:
    for m in (torch, dl):
        @make(m)
        def inner() -> bool:
            return m.is_grad_enabled()
        assert inner() is False and m.is_grad_enabled()

    @dl.enable_grad()
    def enabled() -> bool:
        return dl.is_grad_enabled()
    with dl.no_grad():
        assert enabled() is True
    with dl.inference_mode(False):
        assert dl.is_grad_enabled()
    with dl.inference_mode():
        assert not (dl.rand(2, requires_grad=True) * 2).requires_grad


def test_max_min_with_dim_are_named_tuples() -> None:
    x = dl.tensor([[1.0, 5.0], [7.0, 2.0]])
    values, indices = x.max(1)
    assert x.max(dim=1).indices.tolist() == [1, 0] and values.tolist() == [5.0, 7.0]
    assert isinstance(dl.min(x, 0), dl.return_types.min) and dl.min(x, 0).values.tolist() == [1.0, 2.0]
    assert x.sum(dtype=dl.float64).dtype == dl.float64 and x.mean(1, dtype=dl.float64).dtype == dl.float64
    assert x.prod(dtype=dl.float64).dtype == dl.float64


def test_view_reshape_type_as_and_as_tensor() -> None:
    x, y = dl.rand(2, 3), dl.zeros(3, 2, dtype=dl.float64)
    assert x.view_as(y).shape == (3, 2) and x.reshape_as(y.t()).shape == (2, 3)
    assert x.type_as(y).dtype == dl.float64
    assert dl.as_tensor(x) is x and dl.as_tensor(x, dtype=dl.float64).dtype == dl.float64
    assert dl.as_tensor([1, 2]).dtype == dl.int64 and dl.as_tensor(np.zeros(2), dtype=dl.float32).dtype == dl.float32


def test_detach_in_place() -> None:
    x = dl.rand(3, requires_grad=True)
    y = x * 2
    assert y.detach_() is not None and y.grad_fn is None and not y.requires_grad and y.is_leaf
    assert x.requires_grad


def test_data_shares_memory_outside_autograd_and_its_setter_rebinds_like_torch() -> None:
    for m in (torch, dl):
        p = m.nn.Parameter(m.ones(2, 3))
        alias = p
        d = p.data
        assert not d.requires_grad and tuple(d.shape) == (2, 3)
        d.add_(1)  # the same memory, unseen by autograd
        assert p.tolist() == [[2.0] * 3] * 2
        p.data = m.zeros(4)  # any shape; the Parameter keeps its identity and requires_grad
        assert alias is p and tuple(alias.shape) == (4,) and alias.requires_grad and alias.tolist() == [0.0] * 4
    with pytest.raises(TypeError, match=r"Tensor.data: .*float64.*float32"):
        dl.nn.Parameter(dl.ones(2)).data = dl.zeros(2, dtype=dl.float64)
