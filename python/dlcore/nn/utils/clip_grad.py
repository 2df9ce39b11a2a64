"""Gradient clipping with torch.nn.utils' semantics: the total norm is taken over all gradients
as if concatenated, the scale is ``max_norm / (total + 1e-6)`` clamped to 1, and gradients are
scaled in place (so optimizer steps that follow see the clipped values)."""
from __future__ import annotations

import math
from typing import Any

from ... import _C
from ...autograd import no_grad

_Parameters = Any  # a Tensor or an iterable of Tensors, as torch accepts


def _grads(parameters: _Parameters) -> list[Any]:
    params = [parameters] if isinstance(parameters, _C.Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm(grad: Any, norm_type: float) -> Any:
    magnitude = grad.detach().abs().to(_C.dtype.float32) if grad.dtype != _C.dtype.float64 else grad.detach().abs()
    if norm_type == math.inf:
        return magnitude.amax() if magnitude.numel() else _C.zeros([], device=grad.device)
    if norm_type == 2.0:
        return (magnitude * magnitude).sum().sqrt()
    return (magnitude ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters: _Parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Any:
    """Scales the gradients so their joint ``norm_type`` norm is at most ``max_norm``; returns the
    norm before clipping as a 0-d tensor (torch.nn.utils.clip_grad_norm_)."""
    norm_type = float(norm_type)
    grads = _grads(parameters)
    if not grads:
        return _C.zeros([])
    with no_grad():
        norms = _C.stack([_norm(g, norm_type).reshape([]) for g in grads])
        total = norms.amax() if norm_type == math.inf else _norm(norms, norm_type)
        total_value = float(total.item())
        if error_if_nonfinite and not math.isfinite(total_value):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} for gradients from "
                               f"`parameters` is non-finite ({total_value}), so it cannot be clipped")
        scale = min(float(max_norm) / (total_value + 1e-6), 1.0)
        if scale < 1.0 or not math.isfinite(total_value):
            for g in grads:
                g.mul_(scale)
    return total


def clip_grad_value_(parameters: _Parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamps every gradient element into [-clip_value, clip_value] in place (torch.nn.utils.clip_grad_value_)."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)
