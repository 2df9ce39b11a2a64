"""``dl.optim.lr_scheduler``: torch.optim.lr_scheduler's schedulers, with its names, arguments and numbers.

The spec is torch's behaviour, down to the float: each scheduler computes the next rate the way
torch does, which for most of them is *chainable* -- the new rate is derived from the group's
current ``group["lr"]`` (so two schedulers on one optimizer compose multiplicatively, and a rate
changed by hand carries on from the new value) -- while ``step(epoch)`` (deprecated in torch) and
``SequentialLR``'s milestones use the closed form from ``base_lrs`` where torch has one. Writing the
same arithmetic in the same order gives the same doubles as torch, step after step.

A scheduler drives any object with torch's ``param_groups`` (a list of mappings): dlcore's
optimizers, whose steps read each group's options afresh, or a torch optimizer. Per-group
arguments (lists of ``max_lr``, ``min_lr``, lambdas, ...) follow the groups one for one.

``state_dict()`` holds what torch's holds for the same scheduler (the same keys and values, so the
two can load each other's), and is plain data that ``dl.save`` can write: functions given as
``lr_lambda``/``scale_fn`` are not saved (only callable objects' attributes), as in torch.
"""
from __future__ import annotations

import math
import types
import warnings
import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any, SupportsFloat

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


class StepLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        # torch does not check step_size and fails later with ZeroDivisionError; dlcore refuses it up front.
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiplies the rate by ``gamma`` at each milestone (by ``gamma**k`` at one listed k times)."""

    def __init__(self, optimizer: Any, milestones: Iterable[int], gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As the base class; milestones come back as a Counter also from a checkpoint's plain dict."""
        super().load_state_dict(state_dict)
        self.milestones = Counter(self.milestones)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """The rate times ``factor`` for the first ``total_iters`` steps, then the rate itself."""

    def __init__(self, optimizer: Any, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(f"ConstantLR: factor must be between 0 and 1, got {factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        done = self.last_epoch >= self.total_iters
        return [base_lr * (self.factor + done * (1 - self.factor)) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """The rate times a factor going linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps."""

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # the ratio of this step's factor to the previous one's
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        span = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor + span * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiplies the rate by ``gamma`` every step."""

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        # construction (also when resuming) keeps the current rate rather than running a step ahead
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Rate = initial rate x (1 - step / ``total_iters``) ** ``power`` until ``total_iters``, then kept."""

    def __init__(self, optimizer: Any, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        now, before = 1.0 - self.last_epoch / self.total_iters, 1.0 - (self.last_epoch - 1) / self.total_iters
        ratio = (now / before) ** self.power
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine from the initial rate to ``eta_min`` over ``T_max`` steps (and back up past it), chainable.

    Each step rescales the distance of the current rate to ``eta_min`` by the ratio of consecutive
    cosine values, as torch does; ``step(epoch)`` uses the closed form.
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        # torch accepts T_max=0 and divides by zero on the first step; dlcore refuses it up front.
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        t, period, floor = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return [floor + (base_lr - floor) * (1 + math.cos(t * math.pi / period)) / 2 for base_lr in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:
            # leaving the bottom of the cosine, where the ratio below would divide by zero
            return [group["lr"] + (base_lr - floor) * (1 - math.cos(math.pi / period)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (group["lr"] - floor) + floor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: cosine from the initial rate to ``eta_min`` over ``T_0`` steps, then restarts with periods
    growing by ``T_mult``. ``step(epoch)`` accepts fractional epochs (e.g. ``epoch + batch / batches``)."""

    def __init__(self, optimizer: Any, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a positive integer T_0, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected an integer T_mult >= 1, got {T_mult!r}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a float or int eta_min, got {eta_min!r} of type "
                             f"{type(eta_min).__name__}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_outside_step()
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """One step along the current period, or (``epoch`` given, may be fractional) a jump to that epoch."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: expected a non-negative epoch, got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # periods T_0, T_0*m, T_0*m^2, ...: n whole periods end at T_0 * (m^n - 1) / (m - 1)
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _group_values(self.optimizer, "lr")


class CyclicLR(LRScheduler):
    """Cyclical rates between ``base_lr`` and ``max_lr`` (per batch): triangular, triangular2, exp_range or
    a custom ``scale_fn``; with ``cycle_momentum`` SGD's momentum or Adam's beta1 moves the opposite way."""

    def __init__(self, optimizer: Any, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        base_lrs = _per_group(name, "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"{name}: mode must be 'triangular', 'triangular2' or 'exp_range' when no scale_fn is "
                             f"given, got {mode!r}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(name, optimizer) == "betas"
            self.base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for top, bottom, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    _set_momentum(group, "betas" if self.use_beta1 else "momentum", top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        # the built-in policies fix what their scale is a function of
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle number or iteration ``x`` (per ``scale_mode``)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list[float]:
        """The rates of step ``last_epoch``; with ``cycle_momentum`` it also writes that step's momentum."""
        self._warn_if_outside_step()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # position in the cycle, [0, 1)
        if x <= self.step_ratio:
            rise = x / self.step_ratio
        else:
            rise = (x - 1) / (self.step_ratio - 1)
        # scale_fn is called once per value, as torch does (a stateful callable object sees the same calls)
        at = cycle if self.scale_mode == "cycle" else self.last_epoch
        lrs = [base_lr + (max_lr - base_lr) * rise * self.scale_fn(at)
               for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            momentums = [top - (top - bottom) * rise * self.scale_fn(at)
                         for bottom, top in zip(self.base_momentums, self.max_momentums)]
            key = "betas" if self.use_beta1 else "momentum"
            for group, momentum in zip(self.optimizer.param_groups, momentums):
                _set_momentum(group, key, momentum)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As the base class, with ``scale_fn`` saved as torch does (None for a plain function)."""
        state = super().state_dict()
        state["_scale_fn_custom"] = _callable_state([self._scale_fn_custom])[0]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores the attributes, keeping this scheduler's own ``scale_fn`` (updating a callable object's state)."""
        saved = state_dict["_scale_fn_custom"]
        self.__dict__.update({key: value for key, value in state_dict.items() if key != "_scale_fn_custom"})
        if saved is not None:
            self._scale_fn_custom.__dict__.update(saved)
        self._init_scale_fn()


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped per batch: up from ``max_lr / div_factor`` to ``max_lr``, then down far below
    the start (``three_phase``: back to the start first). With ``cycle_momentum`` the momentum (SGD) or
    beta1 (Adam) moves inversely between ``max_momentum`` and ``base_momentum``.

    The phase boundaries and rates live in the param groups (``initial_lr``, ``max_lr``, ``min_lr``,
    ``max_momentum``, ``base_momentum``), as in torch. One difference: at step ``total_steps`` (past
    the schedule) a linear anneal gives torch a negative rate; dlcore writes 0 there.
    """

    def __init__(self, optimizer: Any, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"{name}: expected a positive integer total_steps, got {total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"{name}: expected a positive integer epochs, got {epochs!r}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"{name}: expected a positive integer steps_per_epoch, got {steps_per_epoch!r}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{name}: give total_steps, or both epochs and steps_per_epoch "
                             f"(got total_steps={total_steps}, epochs={epochs}, steps_per_epoch={steps_per_epoch})")
        warm_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                self._phase(warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                self._phase(float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                            "max_momentum"),
                self._phase(self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                self._phase(warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                self._phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"{name}: pct_start must be a float in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for top, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(name, optimizer) == "betas"
            tops = _per_group(name, "max_momentum", optimizer, max_momentum)
            bottoms = _per_group(name, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for top, bottom, group in zip(tops, bottoms, optimizer.param_groups):
                    _set_momentum(group, "betas" if self.use_beta1 else "momentum", top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _phase(end_step: float, start_lr: str, end_lr: str, start_momentum: str, end_momentum: str) -> dict[str, Any]:
        return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr, "start_momentum": start_momentum,
                "end_momentum": end_momentum}

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        """The rates of step ``last_epoch``; with ``cycle_momentum`` it also writes that step's momentum."""
        self._warn_if_outside_step()
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps={self.total_steps}")
        key = "betas" if getattr(self, "use_beta1", False) else "momentum"
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            phase_start = 0.0
            for index, phase in enumerate(self._schedule_phases):
                if step <= phase["end_step"] or index == last:
                    pct = (step - phase_start) / (phase["end_step"] - phase_start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                        _set_momentum(group, key, momentum)
                    break
                phase_start = phase["end_step"]
        if step == self.total_steps:
            # One step past the schedule (a loop stepping once per batch ends here; no update uses this
            # rate), the linear anneal overshoots min_lr; torch writes the negative rate, which dlcore's
            # optimizers refuse, so it is floored at zero.
            lrs = [max(lr, 0.0) for lr in lrs]
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiplies the rates by ``factor`` once a metric passed to ``step(metric)`` has not improved for
    more than ``patience`` steps (improvement: beyond ``threshold``, relative or absolute), then waits
    ``cooldown`` steps; rates stop at ``min_lr`` and changes smaller than ``eps`` are skipped."""

    def __init__(self, optimizer: Any, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        name = type(self).__name__
        if factor >= 1.0:
            raise ValueError(f"{name}: factor must be < 1.0, got {factor}")
        self.factor = factor
        _check_optimizer(name, optimizer)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"{name}: expected {len(optimizer.param_groups)} min_lrs (one per param group), "
                                 f"got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is waiting out ``cooldown`` after a reduction."""
        return self.cooldown_counter > 0

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def _is_better(self, value: float, best: float) -> bool:
        relative = self.threshold_mode == "rel"
        if self.mode == "min":
            return value < best * (1.0 - self.threshold) if relative else value < best - self.threshold
        return value > best * (self.threshold + 1.0) if relative else value > best + self.threshold

    def step(self, metrics: SupportsFloat, epoch: int | None = None) -> None:  # type: ignore[override]
        """Records one value of the monitored metric (a number or a one-element tensor)."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(_EPOCH_ARGUMENT_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad steps during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _reduce_lr(self, epoch: int) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups but min_lr was "
                                   f"given for {len(self.min_lrs)} (was a group added?); update min_lrs to match")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores the attributes and re-checks mode and threshold_mode."""
        self.__dict__.update(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold, threshold_mode=self.threshold_mode)


def _check_members(owner: str, optimizer: Any, schedulers: Sequence[Any]) -> None:
    for index, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{owner}: the scheduler at index {index} ({type(scheduler).__name__}) has no optimizer "
                            "attribute")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner}: ReduceLROnPlateau (index {index}) cannot be composed: its step() needs the "
                             "metric")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: all schedulers must drive the same optimizer, but {type(scheduler).__name__} "
                             f"at index {index} drives another {type(scheduler.optimizer).__name__}")


def _composite_state(owner: LRScheduler) -> dict[str, Any]:
    state = {key: value for key, value in owner.__dict__.items() if key not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [scheduler.state_dict() for scheduler in owner._schedulers]
    return state


def _load_composite_state(owner: LRScheduler, state_dict: dict[str, Any]) -> None:
    owner.__dict__.update({key: value for key, value in state_dict.items() if key != "_schedulers"})
    for scheduler, state in zip(owner._schedulers, state_dict["_schedulers"]):
        scheduler.load_state_dict(state)


class SequentialLR(LRScheduler):
    """Runs ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]``; each one takes over at its
    milestone from its own step 0 (closed form from the initial rates), as in torch."""

    def __init__(self, optimizer: Any, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1) -> None:
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name}: expects at least one scheduler, got none")
        _check_members(name, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: expects one milestone fewer than schedulers, got {len(schedulers)} schedulers "
                             f"and {len(milestones)} milestones")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Start again from the initial rates, taking back the step each scheduler took when it was made.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched: Any = None) -> None:
        """Takes one step back from every scheduler inside (nested compositions included)."""
        target = self if sched is None else sched
        if hasattr(target, "_schedulers"):
            for inner in target._schedulers:
                self.recursive_undo(inner)
        elif hasattr(target, "last_epoch"):
            target.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Steps the scheduler whose interval holds the new step (restarting it at its milestone)."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """Own attributes plus the inner schedulers' state dicts under ``_schedulers``."""
        return _composite_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores own attributes and each inner scheduler's state."""
        _load_composite_state(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Steps every scheduler in ``schedulers`` at each step, so their chainable changes compose."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Any = None) -> None:
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name}: expects at least one scheduler to chain, got none")
        optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        _check_members(name, optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def step(self) -> None:  # type: ignore[override]
        """Steps each scheduler in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")

    def state_dict(self) -> dict[str, Any]:
        """Own attributes plus the inner schedulers' state dicts under ``_schedulers``."""
        return _composite_state(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores own attributes and each inner scheduler's state."""
        _load_composite_state(self, state_dict)


__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
           "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
           "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR", "LRScheduler"]
