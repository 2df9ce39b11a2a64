"""The scheduler base class (LRScheduler: ``step()``, ``last_epoch``, ``initial_lr``, state dicts)
and the helpers every scheduler shares: per-group arguments, momentum keys, optimizer-step tracking."""
from __future__ import annotations

import types
import warnings
import weakref
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

_EPOCH_ARGUMENT_WARNING = (
    "Passing an epoch to scheduler.step() is deprecated (as in torch): call step() without it. While it "
    "is accepted, the schedule's closed form is used for that step where there is one, not the chainable form.")


def _check_optimizer(owner: str, optimizer: Any) -> None:
    # torch checks isinstance(optimizer, Optimizer); dlcore's optimizers share no base class with
    # torch's, so what a scheduler needs -- the param_groups list -- is what is checked.
    if not isinstance(getattr(optimizer, "param_groups", None), list):
        raise TypeError(f"{owner}: {type(optimizer).__name__} is not an Optimizer (it has no param_groups list)")


def _per_group(owner: str, name: str, optimizer: Any, value: Any) -> list[Any]:
    """``value`` for every param group: a list/tuple must have one entry a group, a scalar is repeated."""
    count = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{owner}: {name} must have one value per param group: got {len(value)} values for "
                             f"{count} param groups")
        return list(value)
    return [value] * count


def _group_values(optimizer: Any, key: str) -> list[Any]:
    """``group[key]`` of every param group (KeyError where one lacks it)."""
    return [group[key] for group in optimizer.param_groups]


def _momentum_key(owner: str, optimizer: Any) -> str:
    """Which hyperparameter momentum cycling drives: Adam's ``betas`` (beta1) or SGD's ``momentum``."""
    # torch asks optimizer.defaults; an optimizer without defaults is judged by its first group's keys.
    options = getattr(optimizer, "defaults", None)
    if not isinstance(options, dict):
        options = optimizer.param_groups[0] if optimizer.param_groups else {}
    if "betas" in options:
        return "betas"
    if "momentum" in options:
        return "momentum"
    raise ValueError(f"{owner}: cycle_momentum=True needs an optimizer with momentum or betas "
                     f"({type(optimizer).__name__} has neither)")


def _set_momentum(group: Any, key: str, value: float) -> None:
    if key == "betas":
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _track_optimizer_steps(optimizer: Any) -> None:
    """Wraps ``optimizer.step`` so a scheduler can tell whether it ran before the first scheduler step.

    The wrapper is an instance attribute that marks the optimizer and calls the class's own step; it
    holds the optimizer weakly, so the optimizer's lifetime is unchanged. The marker names are torch's,
    so a torch optimizer already wrapped by a torch scheduler is not wrapped twice.
    """
    if getattr(optimizer.step, "_wrapped_by_lr_sched", False):
        return
    class_step = type(optimizer).step
    optimizer_ref = weakref.ref(optimizer)

    @wraps(class_step)
    def step(*args: Any, **kwargs: Any) -> Any:
        opt = optimizer_ref()
        opt._opt_called = True
        return class_step(opt, *args, **kwargs)

    step._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    optimizer.step = step


def _callable_state(functions: Sequence[Callable[..., Any] | None]) -> list[dict[str, Any] | None]:
    """What torch saves of user callables: nothing for plain functions and lambdas, a callable object's attributes."""
    return [None if fn is None or isinstance(fn, types.FunctionType) else fn.__dict__.copy() for fn in functions]


class LRScheduler:
    """Base class of the epoch-indexed schedulers: subclasses define ``get_lr()``; ``step()`` applies it.

    ``last_epoch`` counts the steps taken (-1 before construction; construction takes step 0). With
    ``last_epoch=-1`` every group's ``lr`` is saved as ``initial_lr`` (unless a group already has one);
    resuming with another value requires ``initial_lr`` in every group, as after loading an
    optimizer's state dict, and raises KeyError otherwise.
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param 'initial_lr' is not specified in "
                                   f"param_groups[{index}] when resuming with last_epoch={last_epoch}; load the "
                                   "optimizer's state dict first, or start with last_epoch=-1")
        self.base_lrs: list[float] = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_optimizer_steps(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """The step construction takes (step 0), in the mode where chainable forms keep the current rate."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (the same entries as torch's state dict)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores attributes saved by ``state_dict()``; the optimizer's rates come from its own state dict."""
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list[float]:
        """The rates the last step set, one per param group."""
        return self._last_lr

    def get_lr(self) -> list[float]:
        """The rates of step ``last_epoch``, one per param group (called by ``step()``; use ``get_last_lr()``)."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr()")

    def _warn_if_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(f"{type(self).__name__}.get_lr() computes the next rates from the current ones; to read "
                          "the rates the last step set, call get_last_lr()", UserWarning, stacklevel=3)

    def _warn_about_step_order(self) -> None:
        # Only the first step after construction is checked, as in torch.
        if self._step_count != 1:
            return
        if not getattr(self.optimizer.step, "_wrapped_by_lr_sched", False):
            warnings.warn(f"{type(self).__name__}: optimizer.step was replaced after the scheduler was created, so the "
                          "order of optimizer.step() and lr_scheduler.step() cannot be checked; call optimizer.step() "
                          "first", UserWarning, stacklevel=3)
        elif not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(f"{type(self).__name__}: lr_scheduler.step() was called before optimizer.step(); call "
                          "optimizer.step() first, or the schedule's first rate is never used", UserWarning,
                          stacklevel=3)

    def step(self, epoch: int | None = None) -> None:
        """Advances one step (after ``optimizer.step()``) and writes the new rates into the param groups.

        ``epoch`` (deprecated, as in torch) jumps to that step using the closed form where there is one.
        """
        self._warn_about_step_order()
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_ARGUMENT_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{type(self).__name__}: computed {len(values)} rates for {len(groups)} param groups")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = _group_values(self.optimizer, "lr")

    def _current_lrs(self) -> list[float]:
        return _group_values(self.optimizer, "lr")


class _LRScheduler(LRScheduler):
    """torch's older name for ``LRScheduler`` (a subclass, so its ``__name__`` stays ``_LRScheduler``)."""
