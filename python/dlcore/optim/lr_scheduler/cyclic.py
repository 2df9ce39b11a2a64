"""The cyclical schedulers: CyclicLR (triangular, triangular2, exp_range, or a scale function) and
OneCycleLR (cosine or linear annealing through one cycle), both cycling momentum too."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._base import LRScheduler, _callable_state, _check_optimizer, _momentum_key, _per_group, _set_momentum


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
