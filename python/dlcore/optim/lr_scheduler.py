"""Learning-rate schedules with torch.optim.lr_scheduler's names, arguments and step semantics.

Each scheduler computes the rate of step ``last_epoch`` in closed form and writes it to the
optimizer's ``param_groups[0]["lr"]``; construction applies step 0, as torch does.
"""
from __future__ import annotations

import math
from typing import Any


class LRScheduler:
    """Base class: subclasses define ``lr_at(step)``; ``step()`` advances and applies it."""

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        group = optimizer.param_groups[0]
        if last_epoch == -1:
            group["initial_lr"] = group["lr"]
        elif "initial_lr" not in group:
            raise ValueError(f"{type(self).__name__}: param 'initial_lr' is not specified when resuming (last_epoch={last_epoch})")
        self.base_lr: float = group["initial_lr"]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, step: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        self._last_lr = self.lr_at(self.last_epoch)
        self.optimizer.param_groups[0]["lr"] = self._last_lr

    def get_last_lr(self) -> list[float]:
        return [self._last_lr]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.optimizer.param_groups[0]["lr"] = self._last_lr


class StepLR(LRScheduler):
    """Decays the rate by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> float:
        return self.base_lr * self.gamma ** (step // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Cosine from the initial rate down to ``eta_min`` over ``T_max`` steps."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * step / self.T_max)) / 2


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm up to ``max_lr`` then anneal far below the start, stepping per batch.

    With ``cycle_momentum`` the momentum (SGD) or beta1 (Adam) moves inversely between
    ``max_momentum`` and ``base_momentum``, as in torch.
    """

    def __init__(self, optimizer: Any, max_lr: float, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float = 0.85, max_momentum: float = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if total_steps < 2:
            raise ValueError(f"OneCycleLR: total_steps must be >= 2, got {total_steps}")
        if not 0 < pct_start < 1:
            raise ValueError(f"OneCycleLR: pct_start must be in (0, 1), got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        initial = max_lr / div_factor
        minimum = initial / final_div_factor
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [(up, initial, max_lr, max_momentum, base_momentum),
                           (2 * up, max_lr, initial, base_momentum, max_momentum),
                           (total_steps - 1, initial, minimum, max_momentum, max_momentum)]
        else:
            self.phases = [(up, initial, max_lr, max_momentum, base_momentum),
                           (total_steps - 1, max_lr, minimum, base_momentum, max_momentum)]
        group = optimizer.param_groups[0]
        self.momentum_key = None
        if cycle_momentum:
            self.momentum_key = "betas" if "betas" in group else "momentum" if "momentum" in group else None
            if self.momentum_key is None:
                raise ValueError("OneCycleLR: optimizer has no momentum or betas to cycle")
        group["lr"] = initial
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def lr_at(self, step: int) -> float:
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, more than total_steps={self.total_steps}")
        start_step = 0.0
        for i, (end_step, lr_start, lr_end, mom_start, mom_end) in enumerate(self.phases):
            if step <= end_step or i == len(self.phases) - 1:
                pct = (step - start_step) / (end_step - start_step)
                if self.momentum_key is not None:
                    momentum = self._anneal(mom_start, mom_end, pct)
                    group = self.optimizer.param_groups[0]
                    if self.momentum_key == "betas":
                        group["betas"] = (momentum, group["betas"][1])
                    else:
                        group["momentum"] = momentum
                return self._anneal(lr_start, lr_end, pct)
            start_step = end_step
        raise AssertionError("unreachable")


__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "OneCycleLR"]
