"""``dl.optim.Adam`` and ``dl.optim.AdamW``: torch.optim's Adam (L2 or decoupled weight decay,
AMSGrad, maximize) and AdamW (Adam with decoupled weight decay, default 1e-2).

State per parameter, torch's: ``step`` (a float32 CPU scalar, so the bias corrections need no
device reads), ``exp_avg``, ``exp_avg_sq`` and, with AMSGrad, ``max_exp_avg_sq``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from .optimizer import Optimizer, _number, _step_counter, _zeros_like


class Adam(Optimizer):
    """Adam (torch.optim.Adam); ``decoupled_weight_decay=True`` makes it AdamW.

    ``foreach``, ``fused`` and ``capturable`` are accepted and kept in the groups as torch keeps
    them; dlcore always runs its fused multi-tensor kernel with the step count on the host (a step
    refuses to run while a CUDA graph is being captured, whatever ``capturable`` says).
    ``differentiable=True`` is refused (the update runs outside autograd).
    """

    _tensor_state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        self._check_options(defaults)
        if not (all(isinstance(b, float) for b in betas) or all(isinstance(b, _C.Tensor) for b in betas)):
            raise ValueError(f"{self._name()}: betas must be either both floats or both Tensors")
        defaults["betas"] = tuple(betas)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        self._check_nonnegative(options, "lr", "learning rate")
        self._check_nonnegative(options, "eps", "epsilon value")
        self._check_betas(options)
        self._check_nonnegative(options, "weight_decay", "weight_decay value")
        super()._check_options(options)

    def _required_state(self, group: dict[str, Any]) -> list[str]:
        return ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if group["amsgrad"] else [])

    def _update_group(self, group: dict[str, Any]) -> None:
        amsgrad = bool(group["amsgrad"])
        state = self.state
        params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = [], [], [], [], [], []
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            entry = state[p]
            if not entry:
                entry["step"] = _step_counter()
                entry["exp_avg"] = _zeros_like(p)
                entry["exp_avg_sq"] = _zeros_like(p)
                if amsgrad:
                    entry["max_exp_avg_sq"] = _zeros_like(p)
            params.append(p)
            grads.append(grad)
            exp_avgs.append(entry["exp_avg"])
            exp_avg_sqs.append(entry["exp_avg_sq"])
            if amsgrad:
                if "max_exp_avg_sq" not in entry:  # AMSGrad switched on after the state was made
                    entry["max_exp_avg_sq"] = _zeros_like(p)
                max_exp_avg_sqs.append(entry["max_exp_avg_sq"])
            steps.append(entry["step"])
        if not params:
            return
        beta1, beta2 = group["betas"]
        _C.optim.adam_step(self._name(), params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                           _number(group["lr"]), _number(beta1), _number(beta2), _number(group["eps"]),
                           _number(group["weight_decay"]), bool(group["decoupled_weight_decay"]), amsgrad,
                           bool(group["maximize"]))


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam whose weight decay scales the parameters by 1 - lr * weight_decay."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # as torch's AdamW.__setstate__: always decoupled
            group["decoupled_weight_decay"] = True


__all__ = ["Adam", "AdamW"]
