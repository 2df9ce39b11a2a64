# Every op of the op table (cpp/op_table.py), read from the compiled module, without a test
# written per op: forward values and result dtypes against PyTorch over dtypes, broadcast,
# non-contiguous, 0-size and 0-d inputs (and the dtypes an op promotes or refuses, raising what
# torch raises); gradients against PyTorch and against central differences in float64;
# Python-number operands; the in-place, functional and module surfaces; aliases and variants.
from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import dlcore as dl
import dlcore.nn as nn
import dlcore.nn.functional as F
from dlcore._op_table import OPS as ROWS

torch = pytest.importorskip("torch")

# The public rows; internal ones (no surface) are reached through a public row's variants.
OPS = [op for op in ROWS if op["surfaces"]]
ROW = {op["name"]: op for op in ROWS}

FLOATS = ["float32", "float64", "float16", "bfloat16"]
INTEGERS = ["int64", "int32", "uint8"]
DTYPES = {"FLOAT": FLOATS, "FLOAT_ONLY": FLOATS, "NUMERIC": FLOATS + INTEGERS, "ALL": FLOATS + INTEGERS + ["bool"],
          "INTEGRAL": INTEGERS, "INTEGRAL_BOOL": INTEGERS + ["bool"]}
# Dtypes outside an op's kernels, tried on one shape: FLOAT ops promote them to float32, the other
# classes refuse them, each as torch does (torch's result or torch's exception).
OTHER_DTYPES = {"FLOAT": ["int64", "bool"], "FLOAT_ONLY": ["int64", "bool"], "NUMERIC": [], "ALL": [],
                "INTEGRAL": ["float32", "bool"], "INTEGRAL_BOOL": ["float32"]}
# Shapes per arity: same shape, broadcast, a transposed (non-contiguous) input, 0-size, 0-d and 1-element.
SHAPES = {
    1: [[(3, 4)], [(4, 3, "t")], [(0, 3)], [()], [(1,)]],
    2: [[(3, 4), (3, 4)], [(3, 1), (1, 4)], [(4, 3, "t"), (4,)], [(0, 3), (3,)], [(), (2, 3)], [(1,), ()]],
    3: [[(3, 4), (3, 4), (3, 4)], [(3, 1), (4,), (3, 4)], [(4, 3, "t"), (3, 4), ()], [(0, 3), (0, 1), (3,)]],
}
# Tolerances of the forward comparison per result dtype: float32 a few ulp of the math library,
# 16-bit types one rounding of their 8- or 11-bit mantissa on an O(1) result; integers exact.
FORWARD_TOL = {"float32": 2e-6, "float64": 1e-12, "float16": 2e-3, "bfloat16": 1.6e-2}


def op_id(op: dict[str, Any]) -> str:
    return op["name"]


def torch_fn(op: dict[str, Any]):
    """The torch counterpart of an op: torch.X, or torch.nn.functional.X for F-only ops."""
    name = op["name"]
    return getattr(torch, name) if hasattr(torch, name) and "dl" in op["surfaces"] else getattr(torch.nn.functional, name)


def dl_fn(op: dict[str, Any]):
    return getattr(dl, op["name"]) if "dl" in op["surfaces"] else getattr(F, op["name"])


def kernel_dtypes(op: dict[str, Any]) -> list[str]:
    """The dtypes an op's kernels take, its variants' included (div's rounding modes keep integers)."""
    dtypes = list(DTYPES[op["dtypes"]])
    for variant in op["variants"].values():
        dtypes += [d for d in DTYPES[ROW[variant]["dtypes"]] if d not in dtypes]
    return dtypes


def dlcore_goes_further(op: dict[str, Any], dtype: str, kwargs: dict[str, Any]) -> bool:
    """Where dlcore computes what torch refuses: round(integers, decimals=d) is exact for d >= 0 and
    rounds to tens for d < 0 (torch raises NotImplementedError for any d != 0); hardtanh of uint8
    with a negative limit clamps at 0 (torch raises RuntimeError); softsign and tanhshrink promote
    bool like every FLOAT op (torch's, written with abs and -, refuse bool)."""
    if op["name"] in ("softsign", "tanhshrink"):
        return dtype == "bool"
    if op["name"] == "round":
        return dtype in INTEGERS and kwargs.get("decimals", 0) != 0
    if op["name"] == "hardtanh":
        return dtype == "uint8" and min(kwargs.get("min_val", -1.0), kwargs.get("max_val", 1.0)) < 0
    return False


def call_like_torch(torch_call, dl_call, context: str):
    """(expected, actual) when torch computes a result; when torch raises, dlcore must raise the same
    kind of exception (NotImplementedError for a dtype the op has no kernel for), and None is returned."""
    try:
        expected = torch_call()
    except (RuntimeError, TypeError, ValueError) as error:
        with pytest.raises(type(error)):
            dl_call()
        return None
    return expected, dl_call()


def scalar_kwargs(op: dict[str, Any]) -> list[dict[str, Any]]:
    """Default arguments, plus each choice and a non-default value of every scalar argument."""
    variants = [{}]
    for name, kind, default in op["scalar_args"]:
        if kind == "str":
            variants += [{name: c} for c in op["choices"][name] if c != default]
        elif kind == "str?":
            variants += [{name: c} for c in op["choices"][name] if c != default]
        elif kind == "float?":
            variants += [{name: -0.5}, {name: 0.75}]
        elif kind == "int":
            variants += [{name: default + 2}, {name: default - 1}]
        elif name == "alpha":
            variants.append({name: 2 if op["name"] in ("add", "sub") else 0.5})
        elif name == "threshold":
            variants.append({name: 0.5})  # softplus: reach its linear part
        else:
            variants.append({name: (default or 0) + 0.3})
    if op["name"] == "clamp":  # clamp needs one bound at least; both bounds too
        variants = [v for v in variants if v] + [{"min": -0.5, "max": 0.75}]
    return variants


def make_values(shape: tuple, dtype: str, domain: str, rng: np.random.Generator, arg: str) -> np.ndarray:
    transposed = len(shape) > 0 and shape[-1] == "t"
    dims = shape[:-1] if transposed else shape
    if arg == "condition":
        return rng.random(dims) < 0.5
    if dtype == "bool":
        return rng.random(dims) < 0.5
    if dtype in ("int64", "int32", "uint8"):
        low = 1 if domain in ("positive", "nonzero") else (0 if dtype == "uint8" else -4)
        return rng.integers(low, 5, size=dims).astype(dtype)
    if domain == "positive":
        values = rng.uniform(0.5, 2.0, size=dims)
    elif domain == "unit":
        values = rng.uniform(-0.9, 0.9, size=dims)
    elif domain == "above_one":
        values = rng.uniform(1.2, 3.0, size=dims)
    elif domain == "probability":
        values = rng.uniform(0.1, 0.9, size=dims)
    elif domain == "nonzero":
        values = rng.uniform(0.5, 2.0, size=dims) * rng.choice([-1.0, 1.0], size=dims)
    else:
        values = rng.standard_normal(dims)
    return np.asarray(values, dtype=np.float64)


def as_inputs(op, shapes, dtype: str, device: str, seed: int, requires_grad: bool = False):
    """The same inputs as dlcore and torch tensors (transposed where a shape says "t")."""
    rng = np.random.default_rng(seed)
    dls, tos = [], []
    for arg, shape in zip(op["tensor_args"], shapes):
        values = make_values(shape, dtype, op["domain"], rng, arg)
        arg_dtype = "bool" if arg == "condition" else dtype
        t = torch.tensor(values).to(getattr(torch, arg_dtype))
        d = dl.tensor(values.astype(np.float32) if arg_dtype == "bfloat16" else values,
                      dtype=getattr(dl, arg_dtype), device=device)
        if len(shape) > 0 and shape[-1] == "t":
            t, d = t.t(), d.t()
        grad = requires_grad and arg != "condition"
        dls.append(d.detach().requires_grad_(grad) if grad else d)
        tos.append(t.detach().requires_grad_(grad) if grad else t)
    return dls, tos


def assert_matches(actual: dl.Tensor, expected: "torch.Tensor", context: str) -> None:
    result_dtype = str(expected.dtype).split(".")[-1]
    assert str(actual.dtype).split(".")[-1] == result_dtype, context
    assert tuple(actual.shape) == tuple(expected.shape), context
    a = np.asarray(actual.detach().float().cpu().numpy() if actual.dtype == dl.bfloat16
                   else actual.detach().cpu().numpy(), dtype=np.float64)
    e = expected.detach().double().numpy()
    tol = FORWARD_TOL.get(result_dtype, 0.0)
    np.testing.assert_allclose(a, e, rtol=tol, atol=tol, equal_nan=True, err_msg=context)


CASES = ([(op, dtype, shapes) for op in OPS for dtype in kernel_dtypes(op) for shapes in SHAPES[len(op["tensor_args"])]] +
         [(op, dtype, SHAPES[len(op["tensor_args"])][1]) for op in OPS for dtype in OTHER_DTYPES[op["dtypes"]]
          if dtype not in kernel_dtypes(op)])


@pytest.mark.parametrize("op, dtype, shapes", CASES,
                         ids=[f"{op['name']}-{dtype}-{i}" for i, (op, dtype, _) in enumerate(CASES)])
def test_forward_matches_torch(device, op, dtype, shapes):
    for kwargs in scalar_kwargs(op):
        if op["name"] == "clamp" and not dtype.startswith(("float", "bfloat")):
            # torch promotes an integer tensor clamped by float bounds to float32; dlcore's scalar
            # arguments reach the kernel as numbers and keep the input's dtype (a known difference).
            kwargs = {k: round(v) for k, v in kwargs.items()}
        if dlcore_goes_further(op, dtype, kwargs):
            continue
        dls, tos = as_inputs(op, shapes, dtype, device, seed=len(op["name"]))
        context = f"{op['name']}({dtype}, {shapes}, {kwargs})"
        both = call_like_torch(lambda: torch_fn(op)(*tos, **kwargs), lambda: dl_fn(op)(*dls, **kwargs), context)
        if both is not None:
            assert_matches(both[1], both[0], context)


DIFFERENTIABLE = [op for op in OPS if op["saves"] is not None]
NOT_DIFFERENTIABLE = [op for op in OPS if op["saves"] is None]


# torch's float64 hardsigmoid gradient multiplies by 1/6 rounded to float32 (relative error 3e-8);
# dlcore's divides by 6 (the central-difference test below holds it to float64 accuracy).
TORCH_GRADIENT_ERROR = {"hardsigmoid": 1e-7}


@pytest.mark.parametrize("op", DIFFERENTIABLE, ids=op_id)
@pytest.mark.parametrize("shape_case", range(4))
def test_gradients_match_torch_in_float64(device, op, shape_case):
    shapes = SHAPES[len(op["tensor_args"])][shape_case]
    for kwargs in scalar_kwargs(op):
        dls, tos = as_inputs(op, shapes, "float64", device, seed=7, requires_grad=True)
        out_t = torch_fn(op)(*tos, **kwargs)
        out_d = dl_fn(op)(*dls, **kwargs)
        upstream = np.random.default_rng(3).standard_normal(tuple(out_t.shape))
        out_t.backward(torch.tensor(upstream))
        out_d.backward(dl.tensor(upstream, device=device))
        for name, d, t in zip(op["tensor_args"], dls, tos):
            if name == "condition":
                continue
            context = f"d{op['name']}/d{name} ({shapes}, {kwargs})"
            assert d.grad is not None, context
            rtol = TORCH_GRADIENT_ERROR.get(op["name"], 1e-10)
            np.testing.assert_allclose(d.grad.cpu().numpy(), t.grad.numpy(), rtol=rtol, atol=1e-12, err_msg=context)


@pytest.mark.parametrize("op", DIFFERENTIABLE, ids=op_id)
def test_gradients_match_central_differences(device, op):
    shapes = SHAPES[len(op["tensor_args"])][1]  # the broadcast case: gradients summed back
    for kwargs in scalar_kwargs(op):
        dls, _ = as_inputs(op, shapes, "float64", device, seed=11, requires_grad=True)
        fn = dl_fn(op)
        out = fn(*dls, **kwargs)
        upstream = np.random.default_rng(5).standard_normal(tuple(out.shape))
        out.backward(dl.tensor(upstream, device=device))
        eps = 1e-6
        for k, name in enumerate(op["tensor_args"]):
            if name == "condition":
                continue
            base = dls[k].detach().cpu().numpy()
            numeric = np.zeros_like(base)
            for index in itertools.product(*[range(s) for s in base.shape]):
                shifted = []
                for sign in (1, -1):
                    values = base.copy()
                    values[index] += sign * eps
                    args = [dl.tensor(values, device=device) if j == k else a.detach() for j, a in enumerate(dls)]
                    shifted.append(fn(*args, **kwargs).cpu().numpy())
                numeric[index] = np.sum((shifted[0] - shifted[1]) / (2 * eps) * upstream)
            # Central differences in float64 with step 1e-6: error ~1e-9 on O(1) derivatives.
            np.testing.assert_allclose(dls[k].grad.cpu().numpy(), numeric, rtol=1e-6, atol=1e-7,
                                       err_msg=f"d{op['name']}/d{name} {kwargs}")


BINARY_WITH_NUMBERS = [op for op in OPS if op["tensor_args"] == ["input", "other"] or op["tensor_args"] == ["input", "exponent"]]


@pytest.mark.parametrize("op", BINARY_WITH_NUMBERS, ids=op_id)
@pytest.mark.parametrize("dtype", ["float32", "int64", "float16"])
@pytest.mark.parametrize("number", [2, 0.5, True])
def test_python_number_operands_promote_like_torch(device, op, dtype, number):
    if op["dtypes"] != "ALL" and dtype == "bool":
        pytest.skip("not a bool op")
    dls, tos = as_inputs(op, [(3, 4)], dtype, device, seed=2)
    fn_d, fn_t = dl_fn(op), torch_fn(op)
    if isinstance(number, bool) and op["dtypes"] not in ("ALL", "INTEGRAL_BOOL") and op["output"] != "bool":
        number = 3  # torch.add(x, True) works, but bool arithmetic is outside dlcore's NUMERIC ops

    def expected():
        try:
            return fn_t(tos[0], number)
        except TypeError:  # torch.maximum, atan2, the logical ops take tensors only: a 0-d tensor promotes alike
            return fn_t(tos[0], torch.tensor(number))

    context = f"{op['name']}(x, {number!r})"
    both = call_like_torch(expected, lambda: fn_d(dls[0], number), context)
    if both is not None:
        assert_matches(both[1], both[0], context)


@pytest.mark.parametrize("op", [op for op in OPS if "inplace" in op["surfaces"]], ids=op_id)
def test_inplace_forms_write_into_self(device, op):
    shapes = SHAPES[len(op["tensor_args"])][1]
    dtype = DTYPES[op["dtypes"]][0]
    dls, _ = as_inputs(op, shapes, dtype, device, seed=4)
    expected = dl_fn(op)(*dls).cpu().numpy()
    target = dl.zeros(*expected.shape, dtype=getattr(dl, dtype), device=device)
    target.copy_(dls[0].expand(*expected.shape) if tuple(dls[0].shape) != expected.shape else dls[0])
    alias = target.view(*expected.shape)
    if "method" in op["surfaces"]:
        returned = getattr(target, op["name"] + "_")(*dls[1:])
    else:  # F.silu(x, inplace=True) and the like
        returned = getattr(F, op["name"])(target, *dls[1:], inplace=True)
    assert returned.data_ptr() == target.data_ptr()
    np.testing.assert_allclose(alias.cpu().numpy(), expected, rtol=1e-6, atol=1e-6)  # aliases see it


def test_inplace_refuses_a_result_type_it_cannot_hold():
    x = dl.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match=r"add_: result type float32 can't be cast to the desired output type int64"):
        x.add_(0.5)
    x.add_(2)  # int + int stays int
    assert x.tolist() == [3, 4, 5]


@pytest.mark.parametrize("class_name, op", [(s.split(":")[1], op) for op in OPS for s in op["surfaces"]
                                             if s.startswith("module:")], ids=lambda v: v if isinstance(v, str) else "")
def test_module_surfaces_match_torch_modules(class_name, op):
    dls, tos = as_inputs(op, [(3, 4)], "float32", "cpu", seed=9)
    for kwargs in scalar_kwargs(op):
        module_d, module_t = getattr(nn, class_name)(**kwargs), getattr(torch.nn, class_name)(**kwargs)
        assert_matches(module_d(dls[0]), module_t(tos[0]), f"nn.{class_name}({kwargs})")


def test_every_surface_of_the_table_is_exported():
    for op in OPS:
        name = op["name"]
        if "dl" in op["surfaces"]:
            assert name in dl.__all__ and callable(getattr(dl, name))
        if "F" in op["surfaces"]:
            assert name in F.__all__ and callable(getattr(F, name))
        if "method" in op["surfaces"]:
            assert callable(getattr(dl.Tensor, name))
        if "inplace" in op["surfaces"] and "method" in op["surfaces"]:
            assert callable(getattr(dl.Tensor, name + "_"))
    internal = [op["name"] for op in ROWS if not op["surfaces"]]
    assert internal and not any(hasattr(dl, name) or hasattr(F, name) for name in internal)


ALIASES = [(alias, op) for op in OPS for alias in op["aliases"]]


@pytest.mark.parametrize("alias, op", ALIASES, ids=[alias for alias, _ in ALIASES])
def test_aliases_are_the_same_op_under_torchs_other_name(device, alias, op):
    dls, tos = as_inputs(op, SHAPES[len(op["tensor_args"])][0], "float32", device, seed=6)
    kwargs = {k: v for k, v in scalar_kwargs(op)[-1].items() if k not in op["choices"]}  # true_divide has no rounding_mode
    for surface, lib_d, lib_t in (("dl", dl, torch), ("method", None, None)):
        if surface not in op["surfaces"]:
            continue
        if lib_d is None:
            actual, expected = getattr(dls[0], alias)(*dls[1:], **kwargs), getattr(tos[0], alias)(*tos[1:], **kwargs)
        else:
            actual, expected = getattr(lib_d, alias)(*dls, **kwargs), getattr(lib_t, alias)(*tos, **kwargs)
        assert_matches(actual, expected, f"{alias} ({surface}, {kwargs})")
    if "inplace" in op["surfaces"] and "method" in op["surfaces"]:
        target = dls[0].clone()
        assert getattr(target, alias + "_")(*dls[1:], **kwargs).data_ptr() == target.data_ptr()
        assert_matches(target, getattr(tos[0].clone(), alias + "_")(*tos[1:], **kwargs), f"{alias}_")


@pytest.mark.parametrize("op", NOT_DIFFERENTIABLE, ids=op_id)
def test_ops_without_gradients_give_results_outside_the_graph(op):
    dtype = DTYPES[op["dtypes"]][0]
    dls, _ = as_inputs(op, SHAPES[len(op["tensor_args"])][0], dtype, "cpu", seed=8)
    if dtype.startswith("float"):
        dls = [d.requires_grad_() for d in dls]
    out = dl_fn(op)(*dls)
    assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("name", sorted({op["name"] for op in OPS if op["divisors"]} |
                                        {op["name"] for op in OPS for v in op["variants"].values() if ROW[v]["divisors"]}))
def test_integer_division_by_zero_raises_like_torch_on_the_cpu(name):
    op = ROW[name]
    kwargs = {"rounding_mode": "trunc"} if op["variants"] else {}
    x_d, x_t = dl.tensor([7, -3, 4]), torch.tensor([7, -3, 4])
    for divisor_d, divisor_t in ((dl.tensor([1, 0, 2]), torch.tensor([1, 0, 2])), (0, 0)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            torch_fn(op)(x_t, divisor_t, **kwargs)
        with pytest.raises(RuntimeError, match=f"{name}: ZeroDivisionError"):
            dl_fn(op)(x_d, divisor_d, **kwargs)
    # floats divide by zero into infinities and NaNs, as torch does
    f_d, f_t = dl.tensor([1.5, -2.0, 0.0]), torch.tensor([1.5, -2.0, 0.0])
    assert_matches(dl_fn(op)(f_d, 0.0, **kwargs), torch_fn(op)(f_t, 0.0, **kwargs), f"{name}(float, 0.0)")


def test_dtypes_without_kernels_raise_not_implemented_error_naming_op_and_dtype():
    # torch: "floor_cpu" not implemented for 'Bool' (NotImplementedError); dlcore names the op and the
    # dtypes it takes (torch.add happens to take bools; dlcore's NUMERIC ops do not)
    with pytest.raises(NotImplementedError, match=r"add: not implemented for bool \(it takes numeric \(not bool\) tensors\)"):
        dl.add(dl.tensor([True]), dl.tensor([False]))
    with pytest.raises(NotImplementedError, match=r"silu: not implemented for int64 \(it takes floating point tensors\)"):
        F.silu(dl.tensor([3]))
    with pytest.raises(NotImplementedError, match=r"hypot: not implemented for int64 \(it takes floating point tensors\)"):
        dl.hypot(dl.tensor([3]), dl.tensor([4]))
    with pytest.raises(NotImplementedError, match=r"bitwise_left_shift: not implemented for bool \(it takes integer tensors\)"):
        dl.bitwise_left_shift(dl.tensor([True]), dl.tensor([True]))


def test_choice_arguments_name_their_choices():
    with pytest.raises(ValueError, match=r"div: rounding_mode must be one of None, 'trunc', 'floor', got 'round'"):
        dl.div(dl.ones(2), 2, rounding_mode="round")


def test_inplace_ops_on_tensors_in_the_graph_are_recorded_like_torch():
    w_d = dl.tensor([1.0, 2.0, -0.5], requires_grad=True)
    w_t = torch.tensor([1.0, 2.0, -0.5], requires_grad=True)
    for w, lib in ((w_d, dl), (w_t, torch)):
        loss = w * 2
        for _ in range(3):
            loss += w * w  # in place on a non-leaf: autograd rebases its history
        loss -= lib.tensor(1.0)
        loss.sum().backward()
    np.testing.assert_allclose(w_d.grad.numpy(), w_t.grad.numpy(), rtol=1e-6)
    x = dl.zeros(3)
    x.add_(w_d)  # a plain tensor absorbing one that requires grad joins the graph
    assert x.requires_grad and x.grad_fn is not None
    with pytest.raises(RuntimeError, match="add_: a leaf tensor that requires grad"):
        w_d.add_(1.0)
    with dl.no_grad():
        w_d.add_(1.0)  # the optimizer's way
    h = w_d * 1.0
    h.mul_(w_d)  # mul_ needs the value it overwrites: backward refuses (dlcore keeps no copy)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        h.sum().backward()


def test_inplace_ops_that_save_only_their_result_write_self_directly():
    # relu_ / sigmoid_ need only their output in backward: the kernel writes self and no temporary is
    # copied in (dl.profiler would show a dlcore::copy_ inside them); gradients are torch's. Like
    # torch's, the saved output is self: a second in-place op on it makes backward refuse.
    x_d = dl.tensor([-1.0, 0.5, 2.0, -0.2], requires_grad=True)
    x_t = torch.tensor([-1.0, 0.5, 2.0, -0.2], requires_grad=True)
    for x, lib in ((x_d, dl), (x_t, torch)):
        h = (x * 3).relu_() * 2
        h.sigmoid_()
        (h * h).sum().backward()
        g = (x * 3).relu_()
        g.sigmoid_()
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            g.sum().backward()
    np.testing.assert_allclose(x_d.grad.numpy(), x_t.grad.numpy(), rtol=1e-6)
    h = x_d * 3
    with dl.profiler.profile() as prof:
        h.relu_()
    assert [e.key for e in prof.key_averages()] == ["dlcore::relu_"]


def test_add_hands_its_gradient_on_without_sharing_buffers_users_can_write(device):
    # add/sub at alpha 1 pass the upstream gradient through instead of copying it (ResNet's residual
    # adds); .grad of each leaf must still be its own buffer, and later accumulation must not leak.
    a = dl.ones(2, 3, device=device, requires_grad=True)
    b = dl.ones(2, 3, device=device, requires_grad=True)
    c = dl.ones(3, device=device, requires_grad=True)  # broadcast: summed back to (3,)
    g = dl.arange(6, dtype=dl.float32, device=device).reshape(2, 3)
    (dl.sub(dl.add(a, b), c, alpha=1) + dl.add(a, b, alpha=2)).backward(g)
    assert a.grad.tolist() == (2 * g).tolist()
    assert b.grad.tolist() == (3 * g).tolist()
    assert c.grad.tolist() == [-3.0, -5.0, -7.0]
    a.grad.mul_(0)  # writing one leaf's .grad leaves the others and the caller's gradient alone
    assert b.grad.tolist() == (3 * g).tolist() and g.tolist() == [[0, 1, 2], [3, 4, 5]]
    y = a + b
    y.backward(g)
    y = a + b
    y.backward(g)  # a second backward accumulates into each .grad separately
    assert a.grad.tolist() == (2 * g).tolist() and b.grad.tolist() == (5 * g).tolist()
    assert g.tolist() == [[0, 1, 2], [3, 4, 5]]
