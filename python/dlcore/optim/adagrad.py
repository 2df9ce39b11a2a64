"""``dl.optim.Adagrad``: torch.optim.Adagrad (learning-rate decay, initial accumulator, weight decay,
maximize).

As in torch, the state (``step`` and the ``sum`` of squared gradients, filled with
``initial_accumulator_value``) is created for every parameter when the optimizer is built, and the
constructor's ``initial_accumulator_value`` is the one used, also for groups added later.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from .optimizer import Optimizer, _full_like, _number, _step_counter


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad): per-element rates lr / (1 + (step - 1) * lr_decay) / sqrt(sum g^2).

    ``foreach`` and ``fused`` are accepted and kept in the groups; dlcore always runs its fused
    multi-tensor kernel. ``differentiable=True`` is refused (the update runs outside autograd).
    """

    _tensor_state = ("sum",)

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        self._check_options(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                entry = self.state[p]
                entry["step"] = _step_counter()
                entry["sum"] = _full_like(p, _number(initial_accumulator_value))

    def _check_options(self, options: dict[str, Any]) -> None:
        self._check_nonnegative(options, "lr", "learning rate")
        self._check_nonnegative(options, "lr_decay", "lr_decay value")
        self._check_nonnegative(options, "weight_decay", "weight_decay value")
        self._check_nonnegative(options, "initial_accumulator_value", "initial_accumulator_value value")
        self._check_nonnegative(options, "eps", "epsilon value")
        super()._check_options(options)

    def _update_group(self, group: dict[str, Any]) -> None:
        state = self.state
        params, grads, sums, steps = [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            entry = state[p]
            if not entry:
                entry["step"] = _step_counter()
                entry["sum"] = _full_like(p, _number(self.defaults["initial_accumulator_value"]))
            params.append(p)
            grads.append(grad)
            sums.append(entry["sum"])
            steps.append(entry["step"])
        if not params:
            return
        _C.optim.adagrad_step("Adagrad", params, grads, sums, steps, _number(group["lr"]), _number(group["lr_decay"]),
                              _number(group["weight_decay"]), _number(group["eps"]), bool(group["maximize"]))


__all__ = ["Adagrad"]
