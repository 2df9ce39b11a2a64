# Test harnesses shared by the Python tests: `check_op` runs one op in PyTorch and in dlcore on the
# same random inputs and compares the output and every input gradient; `gradcheck` checks dlcore's
# backward against central finite differences (accumulated in float64) for ops torch lacks.
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

import dlcore as dl

# float32 forward/backward of small ops agree with torch to a few ulps; the defaults leave room for a
# different summation order in reductions over a few hundred terms (GEMM, convolution).
FORWARD_ATOL, FORWARD_RTOL = 1e-5, 1e-4
GRAD_ATOL, GRAD_RTOL = 1e-4, 1e-4


def to_numpy(t: Any) -> np.ndarray:
    """A dlcore or torch tensor (any device, with or without grad) as a numpy array."""
    return t.detach().cpu().numpy()  # the same three calls in both frameworks


def upstream_tensor(values: np.ndarray, device: str) -> dl.Tensor:
    """The gradient to feed `backward`, shaped exactly like the output (0-d included)."""
    if values.ndim == 0:  # built with full() so that a 0-d gradient does not go through numpy
        return dl.full([], float(values), device=device)
    return dl.tensor(values.astype(np.float32), device=device)


def random_inputs(shapes: Sequence[Sequence[int]], seed: int, low: float | None = None,
                  high: float | None = None) -> list[np.ndarray]:
    """float32 arrays: standard normal, or uniform in [low, high) when a range is given."""
    rng = np.random.default_rng(seed)
    if low is not None and high is not None:
        return [rng.uniform(low, high, size=tuple(s)).astype(np.float32) for s in shapes]
    return [rng.standard_normal(size=tuple(s)).astype(np.float32) for s in shapes]


def check_op(torch_fn: Callable[..., Any], dl_fn: Callable[..., Any], shapes: Sequence[Sequence[int]] = (),
             *, device: str = "cpu", inputs: Sequence[np.ndarray] | None = None, seed: int = 0,
             low: float | None = None, high: float | None = None, grad: bool = True,
             atol: float = FORWARD_ATOL, rtol: float = FORWARD_RTOL, grad_atol: float = GRAD_ATOL,
             grad_rtol: float = GRAD_RTOL) -> tuple[np.ndarray, list[np.ndarray]]:
    """Feeds the same inputs to `torch_fn` (torch, CPU) and `dl_fn` (dlcore, on `device`).

    Inputs are random float32 arrays of `shapes` (seeded), or the given `inputs`. The forward
    outputs must match within (atol, rtol); then, when `grad`, the same random upstream gradient is
    pushed back through both and every input's gradient must match within (grad_atol, grad_rtol).
    Returns dlcore's output and input gradients for further checks.
    """
    import torch  # noqa: PLC0415  (only the tests that compare with torch need it)

    arrays = [np.asarray(a, dtype=np.float32) for a in inputs] if inputs is not None \
        else random_inputs(shapes, seed, low, high)
    torch_inputs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    dl_inputs = [dl.tensor(a, device=device, requires_grad=grad) for a in arrays]
    torch_out = torch_fn(*torch_inputs)
    dl_out = dl_fn(*dl_inputs)
    expected, actual = to_numpy(torch_out), to_numpy(dl_out)
    assert actual.shape == expected.shape, f"forward shape: dlcore {actual.shape}, torch {expected.shape}"
    np.testing.assert_allclose(actual, expected.astype(actual.dtype), atol=atol, rtol=rtol,
                               err_msg="forward output differs from torch")
    if not grad:
        return actual, []
    upstream = np.random.default_rng(seed + 1).standard_normal(size=expected.shape).astype(np.float32)
    torch_out.backward(torch.tensor(upstream))
    dl_out.backward(upstream_tensor(upstream, device))
    grads = []
    for index, (t_in, d_in) in enumerate(zip(torch_inputs, dl_inputs)):
        assert d_in.grad is not None, f"input {index}: dlcore produced no gradient"
        got = to_numpy(d_in.grad)
        want = t_in.grad.numpy() if t_in.grad is not None else np.zeros(arrays[index].shape, np.float32)
        assert got.shape == want.shape, f"input {index}: gradient shape {got.shape}, torch {want.shape}"
        np.testing.assert_allclose(got, want, atol=grad_atol, rtol=grad_rtol,
                                   err_msg=f"gradient of input {index} differs from torch")
        grads.append(got)
    return actual, grads


def gradcheck(fn: Callable[..., Any], inputs: Sequence[np.ndarray], *, device: str = "cpu", eps: float = 1e-2,
              atol: float = 2e-3, rtol: float = 2e-3, seed: int = 0) -> None:
    """Compares dlcore's backward of `fn` with central finite differences.

    The scalar probed is L(x) = sum(g * fn(x)) for a fixed random g, summed in float64 so that the
    only float32 error left is fn's own rounding; eps is large enough that this rounding divided by
    2*eps stays well inside (atol, rtol) for O(1) values.
    """
    arrays = [np.asarray(a, dtype=np.float32).copy() for a in inputs]
    leaves = [dl.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    upstream = np.random.default_rng(seed).standard_normal(size=tuple(out.shape))
    out.backward(upstream_tensor(upstream, device))
    analytic = [to_numpy(leaf.grad) if leaf.grad is not None else np.zeros_like(a) for leaf, a in zip(leaves, arrays)]

    def probe(values: list[np.ndarray]) -> float:
        with dl.no_grad():
            result = fn(*[dl.tensor(v, device=device) for v in values])
        return float(np.sum(upstream * to_numpy(result).astype(np.float64)))

    for index, array in enumerate(arrays):
        numeric = np.zeros(array.shape, dtype=np.float64)
        flat = array.reshape(-1)
        for position in range(flat.size):
            original = flat[position]
            flat[position] = original + eps
            step_up, plus = float(flat[position]), probe(arrays)
            flat[position] = original - eps
            step_down, minus = float(flat[position]), probe(arrays)
            flat[position] = original
            # the float32 points actually probed, not original +- eps
            numeric.reshape(-1)[position] = (plus - minus) / (step_up - step_down)
        assert analytic[index].shape == numeric.shape, f"input {index}: gradient shape {analytic[index].shape}"
        np.testing.assert_allclose(analytic[index], numeric, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {index} differs from finite differences")
