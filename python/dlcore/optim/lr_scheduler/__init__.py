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

The schedulers live by family in this package: _base.py (LRScheduler and shared helpers),
lambdas.py, decay.py, cyclic.py, plateau.py and composite.py.
"""
from __future__ import annotations

from ._base import LRScheduler, _LRScheduler  # noqa: F401  (torch keeps the old name too)
from .composite import ChainedScheduler, SequentialLR
from .cyclic import CyclicLR, OneCycleLR
from .decay import (
                    ConstantLR,
                    CosineAnnealingLR,
                    CosineAnnealingWarmRestarts,
                    ExponentialLR,
                    LinearLR,
                    MultiStepLR,
                    PolynomialLR,
                    StepLR,
)
from .lambdas import LambdaLR, MultiplicativeLR
from .plateau import ReduceLROnPlateau

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
           "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
           "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR", "LRScheduler"]
