"""``dl.optim.SGD``: torch.optim.SGD (momentum, dampening, Nesterov, weight decay, maximize).

One fused kernel call per group and device updates every parameter with a gradient; the momentum
buffer is created by the first step from the gradient itself, as torch does.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from .optimizer import Optimizer, _number


class SGD(Optimizer):
    """Stochastic gradient descent (torch.optim.SGD), optionally with momentum and Nesterov momentum.

    ``foreach`` and ``fused`` are accepted and kept in the groups, as torch keeps them; dlcore always
    runs its fused multi-tensor kernel, which computes torch's single-tensor arithmetic.
    ``differentiable=True`` is refused (the update runs outside autograd).
    """

    _tensor_state = ("momentum_buffer",)
    _scalar_state = ()
    _optional_none_state = ("momentum_buffer",)

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach,
                    "differentiable": differentiable, "fused": fused}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        self._check_nonnegative(options, "lr", "learning rate")
        self._check_nonnegative(options, "momentum", "momentum value")
        self._check_nonnegative(options, "weight_decay", "weight_decay value")
        if options.get("nesterov") and (_number(options.get("momentum", 0)) <= 0
                                        or _number(options.get("dampening", 0)) != 0):
            raise ValueError(f"{self._name()}: Nesterov momentum requires a momentum and zero dampening")
        super()._check_options(options)

    def _required_state(self, group: dict[str, Any]) -> list[str]:
        return []

    def _update_group(self, group: dict[str, Any]) -> None:
        momentum = _number(group["momentum"])
        state = self.state
        params, grads, buffers, states = [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            params.append(p)
            grads.append(grad)
            if momentum != 0:
                entry = state[p]
                states.append(entry)
                buffers.append(entry.get("momentum_buffer"))
        if not params:
            return
        _C.optim.sgd_step("SGD", params, grads, buffers, _number(group["lr"]), momentum,
                          _number(group["dampening"]), _number(group["weight_decay"]), bool(group["nesterov"]),
                          bool(group["maximize"]))
        for entry, buffer in zip(states, buffers):
            entry["momentum_buffer"] = buffer


__all__ = ["SGD"]
