"""``dl.optim``: torch.optim's optimizers -- SGD, Adam, AdamW, Adadelta, Adagrad, RMSprop, Adamax,
NAdam, RAdam -- with torch's names, signatures, defaults, param groups, state and state dicts, and
``lr_scheduler``.

Each optimizer keeps torch's bookkeeping in Python (``optimizer.py``) and updates a group with one
call of a fused multi-tensor C++ step (one kernel call per device, CPU or CUDA) that computes
torch's single-tensor arithmetic. What torch's ``foreach``, ``fused``, ``capturable`` and
``differentiable`` mean here: the first three are accepted and stored in the groups (state dicts
carry them) but choose nothing -- every step is the fused kernel, its step counts stay on the host,
and a step refuses to run while a CUDA graph is being captured; ``differentiable=True`` is refused,
since the updates run outside the autograd graph.
"""
from __future__ import annotations

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adadelta", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam",
           "lr_scheduler"]
