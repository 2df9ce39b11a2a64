"""The factories and random fills torch has that the engine's bindings do not: ``*_like``,
``Tensor.new_*``, ``randint``, ``randperm``, ``linspace``, ``logspace``, ``eye``, ``meshgrid``, and
the in-place ``normal_``/``uniform_``/``random_``/``bernoulli_`` with ``generator=``. ``linspace``,
``logspace`` and ``eye`` are floating: the default dtype (``dl.set_default_dtype``) unless given.

Without a generator, floating-point draws come from the engine's global generator on the
tensor's device (``dl.manual_seed``); integer draws, permutations and anything given a
``dl.Generator`` come from a numpy PCG64 stream (seeded from the global generator when none is
given), so a seed reproduces dlcore's numbers, not torch's.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _C
from ._default_dtype import get_default_dtype
from ._generator import _check_generator, _numpy_rng
from .autograd import no_grad

Tensor = _C.Tensor


def _size(size: Sequence[Any], where: str) -> tuple[int, ...]:
    """torch's size argument: ints as varargs or one sequence (tuple, list, torch-style Size)."""
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        size = tuple(size[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
        raise TypeError(f"{where}(): size must be a tuple of ints, got {size!r}")
    return tuple(int(s) for s in size)


def _finish(t: Any, device: Any, requires_grad: bool) -> Any:
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _from_numpy(values: np.ndarray, dtype: Any, device: Any, requires_grad: bool = False) -> Any:
    return _finish(_C.tensor(np.ascontiguousarray(values), dtype=dtype), device, requires_grad)


# ---- *_like: the input's shape, and its dtype and device unless given ----

def zeros_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None) -> Any:
    return _C.zeros(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def ones_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              memory_format: Any = None) -> Any:
    return _C.ones(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def empty_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None) -> Any:
    return _C.empty(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def full_like(input: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              memory_format: Any = None) -> Any:
    return _C.full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                   requires_grad=requires_grad)


def rand_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              memory_format: Any = None) -> Any:
    return _C.rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randn_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None) -> Any:
    return _C.randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randint_like(input: Any, low: int = 0, high: int | None = None, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False, memory_format: Any = None) -> Any:
    if high is None:  # randint_like(x, high)
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, device=device or input.device,
                   requires_grad=requires_grad)


# ---- random factories ----

def randint(*args: Any, size: Any = None, generator: Any = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Any:
    """torch.randint(high, size) or randint(low, high, size): integers in [low, high), int64 by default."""
    if size is not None:
        args = args + (size,)
    if len(args) == 2:
        low, high, shape = 0, args[0], args[1]
    elif len(args) == 3:
        low, high, shape = args
    else:
        raise TypeError(f"randint() expects (high, size) or (low, high, size), got {len(args)} positional arguments")
    low, high = int(low), int(high)
    if high <= low:
        raise RuntimeError(f"randint(): random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    rng = _numpy_rng(_check_generator(generator, "randint"))
    values = rng.integers(low, high, size=_size((shape,), "randint"), dtype=np.int64)
    return _from_numpy(values, dtype or _C.dtype.int64, device, requires_grad)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Any:
    """A random permutation of 0..n-1 (int64 by default)."""
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, got {n}")
    rng = _numpy_rng(_check_generator(generator, "randperm"))
    return _from_numpy(rng.permutation(int(n)).astype(np.int64), dtype or _C.dtype.int64, device, requires_grad)


# ---- ranges and grids ----

def _linear_steps(start: float, end: float, steps: int) -> np.ndarray:
    """torch's linspace values: from the start for the first half, from the end for the second, so
    both ends are exact."""
    if steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, got {steps}")
    if steps == 1:
        return np.array([start], dtype=np.float64)
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / max(steps - 1, 1)
    return np.where(i < steps // 2, start + i * step, end - (steps - 1 - i) * step)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Any:
    values = _linear_steps(float(start), float(end), int(steps))
    return _from_numpy(values, dtype or get_default_dtype(), device, requires_grad)


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Any:
    values = np.power(float(base), _linear_steps(float(start), float(end), int(steps)))
    return _from_numpy(values, dtype or get_default_dtype(), device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye(): n and m must be non-negative, got n={n}, m={m}")
    return _from_numpy(np.eye(n, n if m is None else m), dtype or get_default_dtype(), device, requires_grad)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Any, ...]:
    """Coordinate grids (views, expanded): ``indexing='ij'`` (matrix) or ``'xy'`` (Cartesian)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid(): indexing must be one of 'xy' or 'ij', got '{indexing}'")
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError(f"meshgrid(): expected 0D or 1D tensors, got shape {tuple(t.shape)}")
    sizes = [t.numel() for t in tensors]
    # 'xy' swaps the roles of the first two inputs: the first varies along dimension 1.
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for i, axis in enumerate(axes):
        shape[axis] = sizes[i]
    grids = []
    for i, (t, axis) in enumerate(zip(tensors, axes)):
        view = [1] * len(tensors)
        view[axis] = sizes[i]
        grids.append(t.reshape(view).expand(shape))
    return tuple(grids)


# ---- Tensor.new_*: the tensor's dtype and device unless given ----

def _new_factory(make: Any) -> Any:
    def method(self: Any, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               **kwargs: Any) -> Any:
        return make(_size(size, make.__name__.lstrip("_")), self, dtype or self.dtype, device or self.device, requires_grad, **kwargs)
    return method


def _new_zeros(shape: tuple[int, ...], _self: Any, dtype: Any, device: Any, requires_grad: bool) -> Any:
    return _C.zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def _new_ones(shape: tuple[int, ...], _self: Any, dtype: Any, device: Any, requires_grad: bool) -> Any:
    return _C.ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def _new_empty(shape: tuple[int, ...], _self: Any, dtype: Any, device: Any, requires_grad: bool) -> Any:
    return _C.empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def _new_full(self: Any, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Any:
    return _C.full(_size((size,), "new_full"), fill_value, dtype=dtype or self.dtype, device=device or self.device,
                   requires_grad=requires_grad)


def _new_tensor(self: Any, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Any:
    t = _C.tensor(data.detach() if isinstance(data, Tensor) else data, dtype=dtype or self.dtype)
    return _finish(t, device or self.device, requires_grad)


# ---- in-place random fills ----

def _fill_from(self: Any, values: Any) -> Any:
    with no_grad():
        self.copy_(values)
    return self


def _numpy_fill(self: Any, values: np.ndarray) -> Any:
    return _fill_from(self, _C.tensor(values, dtype=self.dtype, device=self.device))


def _normal_(self: Any, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Any:
    _check_floating(self, "normal_")
    generator = _check_generator(generator, "normal_")
    if generator is None:
        return _fill_from(self, _C.randn(self.shape, dtype=self.dtype, device=self.device) * std + mean)
    return _numpy_fill(self, generator._numpy.normal(mean, std, size=tuple(self.shape)))


def _uniform_(self: Any, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Any:
    _check_floating(self, "uniform_")
    generator = _check_generator(generator, "uniform_")
    if generator is None:
        return _fill_from(self, _C.rand(self.shape, dtype=self.dtype, device=self.device) * (b - a) + a)
    return _numpy_fill(self, generator._numpy.uniform(a, b, size=tuple(self.shape)))


def _random_(self: Any, *args: Any, generator: Any = None, **bounds: Any) -> Any:
    """Integers in [from, to - 1]: random_(to), random_(from, to), or random_() over [0, 2**mantissa]
    for floats (the largest exactly representable range) and [0, max] for integer dtypes."""
    low, high = 0, None
    if len(args) == 1:
        high = args[0]
    elif len(args) == 2:
        low, high = args
    low, high = bounds.get("from", low), bounds.get("to", high)
    if high is None:
        mantissa = {_C.dtype.float16: 11, _C.dtype.bfloat16: 8, _C.dtype.float32: 24, _C.dtype.float64: 53}
        limits = {_C.dtype.bool: 1, _C.dtype.uint8: 255, _C.dtype.int32: 2**31 - 1, _C.dtype.int64: 2**63 - 1}
        high = (2 ** mantissa[self.dtype] if self.dtype in mantissa else limits[self.dtype]) + 1
    if high <= low:
        raise RuntimeError(f"random_(): expects 'from' to be less than 'to', but got from={low} >= to={high}")
    rng = _numpy_rng(_check_generator(generator, "random_"))
    return _numpy_fill(self, rng.integers(low, high, size=tuple(self.shape), dtype=np.int64, endpoint=False))


def _bernoulli_(self: Any, p: Any = 0.5, *, generator: Any = None) -> Any:
    generator = _check_generator(generator, "bernoulli_")
    if generator is None:
        draws = _C.rand(self.shape, device=self.device)
    else:
        draws = _C.tensor(generator._numpy.random(size=tuple(self.shape)), dtype=_C.dtype.float32, device=self.device)
    return _fill_from(self, (draws < p).to(self.dtype))


def _check_floating(t: Any, where: str) -> None:
    if not t.is_floating_point():
        raise RuntimeError(f"{where}: expected a floating point tensor, got {t.dtype}")


def install_tensor_methods() -> None:
    """Adds the new_* factories and random fills to Tensor (called once by dlcore/__init__)."""
    Tensor.new_zeros = _new_factory(_new_zeros)
    Tensor.new_ones = _new_factory(_new_ones)
    Tensor.new_empty = _new_factory(_new_empty)
    Tensor.new_full = _new_full
    Tensor.new_tensor = _new_tensor
    Tensor.normal_ = _normal_
    Tensor.uniform_ = _uniform_
    Tensor.random_ = _random_
    Tensor.bernoulli_ = _bernoulli_
    Tensor.nbytes = property(lambda self: self.numel() * self.element_size())


__all__ = ["zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like", "randint",
           "randperm", "linspace", "logspace", "eye", "meshgrid"]
