"""dlcore: a small deep-learning framework with a C++/CUDA engine and a PyTorch-like API.

The engine (tensors, autograd, ops, modules, optimizers, kernels) is the compiled extension
``dlcore._C``; this package re-exports it under PyTorch's names and adds the pure-Python pieces:
checkpoints (``dl.save``/``dl.load``), data loading and schedulers.
"""
from __future__ import annotations

from . import _C
from ._C import (Parameter, Tensor, device, from_numpy, get_num_threads, is_grad_enabled, manual_seed,
                 set_grad_enabled, set_num_threads)
from ._default_dtype import (arange, empty, full, get_default_dtype, ones, rand, randn, set_default_dtype, tensor,
                             zeros)
from ._C import (ShapeError, cat, chunk, concat, index_select, narrow, permute, select, split, squeeze, stack, transpose,
                 unbind, unsqueeze)
from ._C import (argwhere, gather, index_add, index_copy, index_fill, index_put, masked_fill, masked_scatter,
                 masked_select, nonzero, scatter, scatter_add, take, take_along_dim)
from .autograd import enable_grad, inference_mode, no_grad

from ._C import promote_types, result_type
from ._C import amax, amin, argmax, argmin, max, mean, min, prod, return_types, sum  # noqa: A004  (torch's names)
from ._op_table import names_on

bool = _C.dtype.bool  # noqa: A001  (PyTorch's names shadow the builtins inside this module only)
uint8 = _C.dtype.uint8
int32 = _C.dtype.int32
int64 = _C.dtype.int64
float16 = _C.dtype.float16
bfloat16 = _C.dtype.bfloat16
float32 = _C.dtype.float32
float64 = _C.dtype.float64
float, double, half = float32, float64, float16  # noqa: A001
long, int = int64, int32  # noqa: A001

from . import cuda, data, nn, optim, profiler  # noqa: E402  (need the names above)
from .serialization import load, save  # noqa: E402
from ._generator import Generator  # noqa: E402
from . import utils, vision  # noqa: E402
from . import accelerator, backends  # noqa: E402
from ._C.functional import flatten  # noqa: E402
from ._C import (addmm, all, any, argsort, bmm, clone, cumprod, cumsum, dot, einsum, flip, logsumexp, matmul, mm,  # noqa: E402,A004
                 norm, outer, roll, sort, std, std_mean, topk, tril, triu, unique, var, var_mean)
from ._factories import (empty_like, eye, full_like, linspace, logspace, meshgrid, ones_like, rand_like,  # noqa: E402
                         randint, randint_like, randn_like, randperm, zeros_like)
from ._factories import install_tensor_methods as _install_factory_methods  # noqa: E402
from ._inplace import install_tensor_methods as _install_in_place_methods  # noqa: E402
from ._tensor_like import as_tensor  # noqa: E402
from ._tensor_like import install_tensor_methods as _install_like_methods  # noqa: E402
from ._tensor_repr import tensor_repr as _tensor_repr  # noqa: E402


def is_tensor(obj: object) -> bool:
    """True for a dlcore Tensor (Parameters included), like ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:  # noqa: A002  (torch's argument name)
    """The number of elements of ``input``."""
    return input.numel()


_install_in_place_methods()  # first: the compiled in-place methods only
_install_factory_methods()
_install_like_methods()
Tensor.__repr__ = Tensor.__str__ = _tensor_repr

__version__ = "0.1.0"
__all__ = ["Tensor", "Parameter", "tensor", "from_numpy", "zeros", "ones", "empty", "full", "rand", "randn", "arange",
           "device", "manual_seed", "set_num_threads", "get_num_threads", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
           "bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64", "float", "double", "half",
           "long", "int", "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "return_types",
           "promote_types", "result_type", "cuda", "data", "nn", "optim", "profiler", "save", "load", "Generator", "utils", "vision",
           "accelerator", "backends", "flatten", "inference_mode", "is_tensor", "numel", "as_tensor", "addmm", "all", "any", "argsort", "bmm", "clone", "cumprod", "cumsum",
           "dot", "einsum", "flip", "logsumexp", "matmul", "mm", "norm", "outer", "roll", "sort", "std", "std_mean",
           "topk", "tril", "triu", "unique", "var", "var_mean", "empty_like", "eye", "full_like", "linspace",
           "logspace", "meshgrid", "ones_like", "rand_like", "randint", "randint_like", "randn_like", "randperm",
           "zeros_like", "set_default_dtype", "get_default_dtype"]

# The op table's top-level functions (dl.relu, dl.add, dl.where, ...).
for _name in names_on("dl"):
    globals()[_name] = getattr(_C, _name)
    __all__.append(_name)
del _name
__all__ += ["ShapeError", "cat", "concat", "stack", "permute", "transpose", "unsqueeze", "squeeze", "narrow", "select", "split", "chunk",
            "unbind", "index_select"]
__all__ += ["index_put", "masked_fill", "masked_select", "masked_scatter", "nonzero", "argwhere", "index_add", "index_copy",
            "index_fill", "gather", "scatter", "scatter_add", "take", "take_along_dim"]
