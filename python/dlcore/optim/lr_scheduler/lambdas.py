"""The schedulers driven by user functions: LambdaLR and MultiplicativeLR."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._base import LRScheduler, _callable_state, _check_optimizer


def _lambdas_per_group(owner: str, optimizer: Any, lr_lambda: Any) -> list[Callable[[int], float]]:
    _check_optimizer(owner, optimizer)
    if not isinstance(lr_lambda, (list, tuple)):
        return [lr_lambda] * len(optimizer.param_groups)
    if len(lr_lambda) != len(optimizer.param_groups):
        raise ValueError(f"{owner}: expected {len(optimizer.param_groups)} lr_lambdas (one per param group), got "
                         f"{len(lr_lambda)}")
    return list(lr_lambda)


class _LambdaState:
    """State dict handling shared by LambdaLR and MultiplicativeLR: user functions are not saved."""

    lr_lambdas: list[Callable[[int], float]]

    def state_dict(self) -> dict[str, Any]:
        """As the base class, with ``lr_lambdas`` saved as torch does (None for plain functions)."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = _callable_state(self.lr_lambdas)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores the attributes and the saved attributes of callable-object lambdas."""
        self.__dict__.update({key: value for key, value in state_dict.items() if key != "lr_lambdas"})
        for fn, attributes in zip(self.lr_lambdas, state_dict["lr_lambdas"]):
            if attributes is not None:
                fn.__dict__.update(attributes)


class LambdaLR(_LambdaState, LRScheduler):
    """Rate = initial rate x ``lr_lambda(epoch)``; one function for all groups or a list, one a group."""

    def __init__(self, optimizer: Any, lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas_per_group(type(self).__name__, optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState, LRScheduler):
    """Each step multiplies the current rate by ``lr_lambda(epoch)`` (step 0 keeps it)."""

    def __init__(self, optimizer: Any, lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas_per_group(type(self).__name__, optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"MultiplicativeLR: lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
