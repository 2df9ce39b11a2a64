"""``dl.optim.Adadelta``: torch.optim.Adadelta (rho, eps, weight decay, maximize).

State per parameter, torch's: ``step``, ``square_avg`` (of the gradients) and ``acc_delta`` (of
the updates).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from .optimizer import Optimizer, _number, _step_counter, _zeros_like


class Adadelta(Optimizer):
    """Adadelta (torch.optim.Adadelta): steps scaled by sqrt(acc_delta + eps) / sqrt(square_avg + eps).

    ``foreach`` and ``capturable`` are accepted and kept in the groups; dlcore always runs its fused
    multi-tensor kernel with host-side step counts. ``differentiable=True`` is refused.
    """

    _tensor_state = ("square_avg", "acc_delta")

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "capturable": capturable, "foreach": foreach, "differentiable": differentiable}
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        self._check_nonnegative(options, "lr", "learning rate")
        rho = options.get("rho")
        if rho is not None and not 0.0 <= _number(rho) <= 1.0:
            raise ValueError(f"{self._name()}: Invalid rho value: {rho}")
        self._check_nonnegative(options, "eps", "epsilon value")
        self._check_nonnegative(options, "weight_decay", "weight_decay value")
        super()._check_options(options)

    def _update_group(self, group: dict[str, Any]) -> None:
        state = self.state
        params, grads, square_avgs, acc_deltas, steps = [], [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            entry = state[p]
            if not entry:
                entry["step"] = _step_counter()
                entry["square_avg"] = _zeros_like(p)
                entry["acc_delta"] = _zeros_like(p)
            params.append(p)
            grads.append(grad)
            square_avgs.append(entry["square_avg"])
            acc_deltas.append(entry["acc_delta"])
            steps.append(entry["step"])
        if not params:
            return
        _C.optim.adadelta_step("Adadelta", params, grads, square_avgs, acc_deltas, steps, _number(group["lr"]),
                               _number(group["rho"]), _number(group["eps"]), _number(group["weight_decay"]),
                               bool(group["maximize"]))


__all__ = ["Adadelta"]
