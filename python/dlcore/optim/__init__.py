"""``dl.optim``: SGD, Adam and AdamW (C++ with fused update kernels) under torch.optim's signatures.

The Python layer adds what torch users reach for: ``param_groups`` (one group whose entries write
through to the C++ optimizer) and ``state_dict``/``load_state_dict`` for checkpoints.

The C++ optimizers keep their hyperparameters as float32, but a group reads back the Python value
it was given (as torch's does) so long as the C++ side still holds that value's rounding: the
recursive schedules in ``lr_scheduler`` multiply ``group["lr"]`` step after step, and re-rounding it
to float32 each time would drift from torch's schedule by ~1e-7 per step.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from .. import _C
from . import lr_scheduler


class _ParamGroup(MutableMapping):
    """torch's ``param_groups[0]``: hyperparameters read from and written to the C++ optimizer."""

    def __init__(self, optimizer: "_OptimizerMixin", given: dict[str, Any]) -> None:
        self._opt = optimizer
        self._extra: dict[str, Any] = {}  # e.g. "initial_lr" set by schedulers
        # hyperparameter -> (the value given from Python, what the C++ optimizer held right after)
        self._given: dict[str, tuple[Any, Any]] = {}
        hyper = self._hyper()
        for key, value in given.items():
            self._given[key] = (value, hyper[key])

    def _hyper(self) -> dict[str, Any]:
        h: dict[str, Any] = dict(self._opt.hyperparameters())
        if "beta1" in h:
            h["betas"] = (h.pop("beta1"), h.pop("beta2"))
        if "nesterov" in h:
            h["nesterov"] = bool(h["nesterov"])
        return h

    def __getitem__(self, key: str) -> Any:
        if key == "params":
            return self._opt.params
        h = self._hyper()
        if key in h:
            given = self._given.get(key)
            # A change made behind the group's back (e.g. ``optimizer.lr = x``) shows the C++ value.
            return given[0] if given is not None and given[1] == h[key] else h[key]
        return self._extra[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "betas":
            self._opt.set_hyperparameter("beta1", float(value[0]))
            self._opt.set_hyperparameter("beta2", float(value[1]))
            self._given[key] = (tuple(value), self._hyper()[key])
        elif key in self._hyper():
            self._opt.set_hyperparameter(key, float(value))
            self._given[key] = (value, self._hyper()[key])
        elif key == "params":
            raise ValueError("param_groups: params cannot be replaced; create a new optimizer")
        else:
            self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        del self._extra[key]

    def __iter__(self) -> Iterator[str]:
        return iter(["params", *self._hyper(), *self._extra])

    def __len__(self) -> int:
        return 1 + len(self._hyper()) + len(self._extra)


class _OptimizerMixin:
    """Shared Python surface of the C++ optimizers."""

    def _init_groups(self, given: dict[str, Any]) -> None:
        self.param_groups = [_ParamGroup(self, given)]

    def state_dict(self) -> dict[str, Any]:
        """torch-like layout: {"state": {index: {name: tensor}}, "param_groups": [{...}]}."""
        state: dict[int, dict[str, Any]] = {}
        for key, tensor in self.state_tensors():
            index, name = key.split(".", 1)
            state.setdefault(int(index), {})[name] = tensor
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self.params)))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = state_dict.get("param_groups", [])
        if len(groups) != 1 or len(groups[0].get("params", [])) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has a different parameter layout "
                             f"({[len(g.get('params', [])) for g in groups]} params per group, this optimizer has "
                             f"{len(self.params)})")
        tensors = []
        for index, entries in state_dict.get("state", {}).items():
            for name, value in entries.items():
                tensors.append((f"{int(index)}.{name}", _C.tensor(value) if not isinstance(value, _C.Tensor) else value))
        self.load_state_tensors(tensors)
        for key, value in groups[0].items():
            if key != "params":
                self.param_groups[0][key] = value


class SGD(_OptimizerMixin, _C.optim.SGD):
    """Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD)."""

    def __init__(self, params: Iterable[_C.Tensor], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        _C.optim.SGD.__init__(self, list(params), lr, momentum, dampening, weight_decay, nesterov)
        self._init_groups(dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay))


class Adam(_OptimizerMixin, _C.optim.Adam):
    """Adam with L2 weight decay added to the gradient (torch.optim.Adam)."""

    _decoupled = False

    def __init__(self, params: Iterable[_C.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        _C.optim.Adam.__init__(self, list(params), lr, betas[0], betas[1], eps, weight_decay, self._decoupled)
        self._init_groups(dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW; default weight_decay 1e-2)."""

    _decoupled = True

    def __init__(self, params: Iterable[_C.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


__all__ = ["SGD", "Adam", "AdamW", "lr_scheduler"]
