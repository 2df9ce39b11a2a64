"""``dl.optim.RAdam``: torch.optim.RAdam (rectified Adam; L2 or decoupled weight decay, maximize).

State per parameter, torch's: ``step``, ``exp_avg`` and ``exp_avg_sq``. Until the approximated SMA
length exceeds 5 the step is the bias-corrected momentum alone; after that, rectified Adam.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from .optimizer import Optimizer, _number, _step_counter, _zeros_like


class RAdam(Optimizer):
    """RAdam (torch.optim.RAdam); ``decoupled_weight_decay=True`` decays the parameters as AdamW does.

    ``foreach`` and ``capturable`` are accepted and kept in the groups; dlcore always runs its fused
    multi-tensor kernel with host-side step counts. ``differentiable=True`` is refused.
    """

    _tensor_state = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
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
        params, grads, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            entry = state[p]
            if not entry:
                entry["step"] = _step_counter()
                entry["exp_avg"] = _zeros_like(p)
                entry["exp_avg_sq"] = _zeros_like(p)
            params.append(p)
            grads.append(grad)
            exp_avgs.append(entry["exp_avg"])
            exp_avg_sqs.append(entry["exp_avg_sq"])
            steps.append(entry["step"])
        if not params:
            return
        beta1, beta2 = group["betas"]
        _C.optim.radam_step("RAdam", params, grads, exp_avgs, exp_avg_sqs, steps, _number(group["lr"]), _number(beta1),
                            _number(beta2), _number(group["eps"]), _number(group["weight_decay"]),
                            bool(group["decoupled_weight_decay"]), bool(group["maximize"]))


__all__ = ["RAdam"]
