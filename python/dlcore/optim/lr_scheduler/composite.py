"""Schedulers made of schedulers: SequentialLR (one after another at milestones) and
ChainedScheduler (all of them every step)."""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from ._base import LRScheduler, _group_values
from .plateau import ReduceLROnPlateau


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
