"""``dl.optim.Adamax``: torch.optim.Adamax (Adam with the infinity norm; weight decay, maximize).

State per parameter, torch's: ``step``, ``exp_avg`` and ``exp_inf``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from .optimizer import Optimizer, _number, _step_counter, _zeros_like


class Adamax(Optimizer):
    """Adamax (torch.optim.Adamax): steps lr / (1 - beta1^t) * exp_avg / exp_inf.

    ``foreach`` and ``capturable`` are accepted and kept in the groups; dlcore always runs its fused
    multi-tensor kernel with host-side step counts. ``differentiable=True`` is refused.
    """

    _tensor_state = ("exp_avg", "exp_inf")

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        self._check_nonnegative(options, "lr", "learning rate")
        self._check_nonnegative(options, "eps", "epsilon value")
        self._check_betas(options)
        self._check_nonnegative(options, "weight_decay", "weight_decay value")
        super()._check_options(options)

    def _update_group(self, group: dict[str, Any]) -> None:
        state = self.state
        params, grads, exp_avgs, exp_infs, steps = [], [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            entry = state[p]
            if not entry:
                entry["step"] = _step_counter()
                entry["exp_avg"] = _zeros_like(p)
                entry["exp_inf"] = _zeros_like(p)
            params.append(p)
            grads.append(grad)
            exp_avgs.append(entry["exp_avg"])
            exp_infs.append(entry["exp_inf"])
            steps.append(entry["step"])
        if not params:
            return
        beta1, beta2 = group["betas"]
        _C.optim.adamax_step("Adamax", params, grads, exp_avgs, exp_infs, steps, _number(group["lr"]), _number(beta1),
                             _number(beta2), _number(group["eps"]), _number(group["weight_decay"]),
                             bool(group["maximize"]))


__all__ = ["Adamax"]
