"""``dl.optim.RMSprop``: torch.optim.RMSprop (alpha, eps, weight decay, momentum, centered, maximize).

State per parameter, torch's: ``step``, ``square_avg`` and, when enabled, ``momentum_buffer``
(momentum > 0) and ``grad_avg`` (centered). A buffer that an option switched on after the state was
made starts from zeros (torch would fail on the missing key).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from .optimizer import Optimizer, _number, _step_counter, _zeros_like


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop): steps divided by the root of a running average of g^2.

    ``foreach`` and ``capturable`` are accepted and kept in the groups; dlcore always runs its fused
    multi-tensor kernel with host-side step counts. ``differentiable=True`` is refused.
    """

    _tensor_state = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        self._check_nonnegative(options, "lr", "learning rate")
        self._check_nonnegative(options, "eps", "epsilon value")
        self._check_nonnegative(options, "momentum", "momentum value")
        self._check_nonnegative(options, "weight_decay", "weight_decay value")
        self._check_nonnegative(options, "alpha", "alpha value")
        super()._check_options(options)

    def _required_state(self, group: dict[str, Any]) -> list[str]:
        return (["step", "square_avg"] + (["momentum_buffer"] if _number(group["momentum"]) > 0 else [])
                + (["grad_avg"] if group["centered"] else []))

    def _update_group(self, group: dict[str, Any]) -> None:
        momentum = _number(group["momentum"]) > 0
        centered = bool(group["centered"])
        state = self.state
        params, grads, square_avgs, buffers, grad_avgs, steps = [], [], [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            entry = state[p]
            if not entry:
                entry["step"] = _step_counter()
                entry["square_avg"] = _zeros_like(p)
            params.append(p)
            grads.append(grad)
            square_avgs.append(entry["square_avg"])
            steps.append(entry["step"])
            if momentum:
                if "momentum_buffer" not in entry:
                    entry["momentum_buffer"] = _zeros_like(p)
                buffers.append(entry["momentum_buffer"])
            if centered:
                if "grad_avg" not in entry:
                    entry["grad_avg"] = _zeros_like(p)
                grad_avgs.append(entry["grad_avg"])
        if not params:
            return
        _C.optim.rmsprop_step("RMSprop", params, grads, square_avgs, buffers, grad_avgs, steps, _number(group["lr"]),
                              _number(group["alpha"]), _number(group["eps"]), _number(group["weight_decay"]),
                              _number(group["momentum"]), centered, bool(group["maximize"]))


__all__ = ["RMSprop"]
