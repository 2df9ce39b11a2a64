"""One flat vector from parameters and back (torch.nn.utils.parameters_to_vector /
vector_to_parameters): parameters are taken in iteration order, each flattened row-major."""
from __future__ import annotations

from typing import Any, Iterable

from ... import _C
from ...autograd import no_grad


def parameters_to_vector(parameters: Iterable[Any]) -> Any:
    """The parameters concatenated into one 1-D tensor (differentiable, as torch's)."""
    params = list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty iterable of tensors")
    device = params[0].device
    for p in params:
        if p.device != device:
            raise TypeError(f"parameters_to_vector: found parameters on {device} and {p.device}; "
                            "all parameters must be on the same device")
    return _C.cat([p.reshape([-1]) for p in params], 0)


def vector_to_parameters(vec: Any, parameters: Iterable[Any]) -> None:
    """Copies consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    if not isinstance(vec, _C.Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() != needed:
        raise RuntimeError(f"vector_to_parameters: vec {tuple(vec.shape)} must be 1-D with {needed} elements "
                           "(the parameters' total)")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec.narrow(0, offset, n).reshape(list(p.shape)))
            offset += n
