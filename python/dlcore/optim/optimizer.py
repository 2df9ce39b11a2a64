"""``dl.optim.Optimizer``: torch.optim.Optimizer's param groups, per-parameter state and state dicts.

The bookkeeping is torch's, in Python: ``param_groups`` is a list of plain dicts (``params`` plus
every option, defaults filled in), ``state`` maps each parameter to a dict of its state tensors,
``state_dict()`` packs both with parameters replaced by their index, in torch's layout, and
``load_state_dict()`` reverses it. A subclass only says how to update one group: it gathers the
group's parameters that have a gradient, their gradients and their state, and makes one call of a
fused multi-tensor step in ``dlcore._C.optim`` (C++; one kernel call per device), so a step costs
one pass over the parameters whatever the model's size.

Nothing here refers back to the optimizer from C++, so a dropped optimizer is collected with its
parameters, gradients and state (the cycle through the C++ optimizer that issue 11 found is gone).

Beyond torch: options of added groups are checked as the constructor checks them, parameters must
be float32 (the kernels' type; anything else is refused when added), a parameter listed twice in one
group is refused (torch warns and updates it twice), and ``load_state_dict`` checks every group and
every state entry -- shapes, known names, non-negative step counts -- before it changes anything.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

import numpy as np

from .. import _C
from ..autograd import enable_grad
from ..nn.hooks import RemovableHandle

Tensor = _C.Tensor


class _RequiredParameter:
    """The default of an option every group must give (torch.optim.optimizer.required)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(value: Any) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _describe(t: Tensor) -> str:
    return f"{str(t.dtype).replace('dlcore.', '')}{list(t.shape)} on {t.device}"


def _number(value: Any) -> float:
    """An option's value as a Python float; a 1-element tensor counts as its value, as in torch."""
    if type(value) is float:
        return value
    if isinstance(value, Tensor):
        return float(value.item())
    return float(value)


class _ParamState(MutableMapping):
    """torch's ``optimizer.state``: a dict per parameter, created empty on first access (a defaultdict).

    Keys are parameters, matched by identity: any Python handle of the same tensor finds the same
    entry (dlcore hands out a new handle each time ``model.parameters()`` is called).
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Tensor, dict[str, Any]]] = {}

    @staticmethod
    def _key(param: Any) -> int:
        if not isinstance(param, Tensor):
            raise TypeError(f"optimizer state is keyed by parameter tensors, got {_typename(param)}")
        return hash(param)  # the tensor's identity, shared by all its handles

    def __getitem__(self, param: Tensor) -> dict[str, Any]:
        key = self._key(param)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = (param, {})
        return entry[1]

    def get(self, param: Tensor, default: Any = None) -> Any:  # type: ignore[override]
        entry = self._entries.get(self._key(param))
        return default if entry is None else entry[1]

    def __setitem__(self, param: Tensor, value: dict[str, Any]) -> None:
        self._entries[self._key(param)] = (param, value)

    def __delitem__(self, param: Tensor) -> None:
        del self._entries[self._key(param)]

    def __contains__(self, param: object) -> bool:
        return isinstance(param, Tensor) and hash(param) in self._entries

    def __iter__(self) -> Iterator[Tensor]:
        return (param for param, _ in list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{_describe(p)}: {v!r}" for p, v in self._entries.values()) + "}"


def _one_number(value: Any) -> float | None:
    """The number a one-element tensor, array or Python number holds; None for anything else."""
    if isinstance(value, Tensor):
        return float(value.item()) if value.numel() == 1 else None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array.reshape(-1)[0]) if array.size == 1 else None


def _with_step_hooks(step: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a subclass's ``step`` so the hooks of ``register_step_pre_hook``/``_post_hook`` run around it."""

    def step_with_hooks(self: "Optimizer", *args: Any, **kwargs: Any) -> Any:
        pre, post = self._optimizer_step_pre_hooks, self._optimizer_step_post_hooks
        # A subclass's step calling super().step() runs the hooks once, in the outer call.
        if (not pre and not post) or self.__dict__.get("_running_step_hooks"):
            return step(self, *args, **kwargs)
        self._running_step_hooks = True
        try:
            for hook in list(pre.values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"{type(self).__name__}: a step pre-hook must return None or a tuple "
                                           f"(new_args, new_kwargs), but got {result!r}")
                    args, kwargs = result
            out = step(self, *args, **kwargs)
            for hook in list(post.values()):
                hook(self, args, kwargs)
        finally:
            self._running_step_hooks = False
        return out

    step_with_hooks.__name__ = step.__name__
    step_with_hooks.__qualname__ = step.__qualname__
    step_with_hooks.__doc__ = step.__doc__
    step_with_hooks.__wrapped__ = step  # type: ignore[attr-defined]
    return step_with_hooks


class Optimizer:
    """Base class of dlcore's optimizers, torch.optim.Optimizer's interface.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts each defining a
    param group (``{"params": [...], "lr": ...}``; options a group leaves out come from
    ``defaults``). Subclasses pass their constructor's options as ``defaults`` and implement
    ``_update_group(group)``, or override ``step`` entirely.
    """

    # Per subclass: the state names a state dict may hold for one parameter, tensors shaped like it
    # and one-element counters, as torch names them.
    _tensor_state: tuple[str, ...] = ()
    _scalar_state: tuple[str, ...] = ("step",)
    # State names whose saved value may be None (SGD's momentum buffer in older torch state dicts).
    _optional_none_state: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.__dict__["step"])  # type: ignore[method-assign]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable[..., Any]] = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name()}: params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {_typename(params)}")
        self.state: _ParamState = _ParamState()
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"{self._name()}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def _name(self) -> str:
        return type(self).__name__

    # ---- options -----------------------------------------------------------------------------
    def _check_options(self, options: dict[str, Any]) -> None:
        """Raises torch's ValueError for an invalid option value (subclasses list their checks)."""
        for flag in ("foreach", "fused"):
            if options.get(flag) not in (None, True, False):
                raise TypeError(f"{self._name()}: {flag} must be None or a bool, got {options.get(flag)!r}")
        if options.get("fused") and options.get("differentiable"):
            raise RuntimeError(f"{self._name()}: `fused` does not support `differentiable`")
        if options.get("fused") and options.get("foreach"):
            raise RuntimeError(f"{self._name()}: `fused` and `foreach` cannot be `True` together.")
        if options.get("differentiable"):
            raise NotImplementedError(f"{self._name()}: differentiable=True is not supported: dlcore's optimizer "
                                      "steps are fused kernels that run outside the autograd graph")

    def _check_nonnegative(self, options: dict[str, Any], key: str, label: str) -> None:
        value = options.get(key)
        if value is required or value is None:
            return
        if isinstance(value, Tensor) and value.numel() != 1:
            raise ValueError(f"{self._name()}: Tensor {key} must be 1-element")
        if not 0.0 <= _number(value):
            raise ValueError(f"{self._name()}: Invalid {label}: {value}")

    def _check_betas(self, options: dict[str, Any]) -> None:
        betas = options.get("betas")
        if betas is None:
            return
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self._name()}: betas must be a pair (beta1, beta2), got {betas!r}")
        for index, beta in enumerate(betas):
            if not 0.0 <= _number(beta) < 1.0:
                raise ValueError(f"{self._name()}: Invalid beta parameter at index {index}: {beta}")

    # ---- groups ------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a param group (a dict with ``params`` and any options; the others from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name()}: param_group must be a dict, but got {type(param_group)}")
        if "params" not in param_group:
            raise KeyError(f"{self._name()}.add_param_group: the group has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name()}: optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(tensors):
            raise ValueError(f"{self._name()}: all optimizer params should be with/without names. Some param names are "
                             "missing")
        for index, param in enumerate(tensors):
            if not isinstance(param, Tensor):
                raise TypeError(f"{self._name()}: optimizer can only optimize Tensors, but one of the params is "
                                f"{_typename(param)}")
            if not (param.is_leaf or param.retains_grad):
                raise ValueError(f"{self._name()}: can't optimize a non-leaf Tensor (parameter {index} of the group)")
            if param.dtype != _C.dtype.float32:
                raise TypeError(f"{self._name()}: dlcore's optimizers update float32 parameters (their kernels and "
                                f"state are float32); parameter {index} of the group is {_describe(param)}")

        options = {key: value for key, value in param_group.items() if key != "params"}
        for key, default in self.defaults.items():
            if default is required and key not in options:
                raise ValueError(f"{self._name()}: parameter group didn't specify a value of required optimization "
                                 f"parameter {key}")
            options.setdefault(key, default)
        self._check_options(options)

        identities = [hash(p) for p in tensors]
        if len(set(identities)) != len(identities):
            raise ValueError(f"{self._name()}: a parameter appears more than once in one parameter group (torch "
                             "warns and updates it twice; dlcore refuses)")
        taken: set[int] = set()
        for group in self.param_groups:
            taken.update(hash(p) for p in group["params"])
            if ("param_names" in group) != bool(names):
                kind = "with names" if names else "without names"
                raise ValueError(f"{self._name()}: all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        if not taken.isdisjoint(identities):
            raise ValueError(f"{self._name()}: some parameters appear in more than one parameter group")

        # torch keeps (and completes) the caller's dict itself.
        param_group["params"] = tensors
        if names:
            param_group["param_names"] = names
        for key, value in options.items():
            param_group.setdefault(key, value)
        self.param_groups.append(param_group)

    # ---- steps -------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Resets the gradients of every parameter: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if grad.grad_fn is not None:  # a gradient with history (create_graph): keep its values only
                        grad = grad.detach()
                        p.grad = grad
                    elif grad.requires_grad:
                        grad.requires_grad_(False)
                    grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every param group; ``closure`` (re-evaluates the loss) runs first, with grad on."""
        _C.optim.refuse_graph_capture(self._name())  # before any state is made on the captured stream
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{self._name()} does not implement a step")

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs before each step; it may return new ``(args, kwargs)``."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs after each step."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # ---- state dicts -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [indices]}]}``, torch's layout.

        Parameters are numbered in group order. The state tensors are the optimizer's own (not
        copies), as in torch.
        """
        index_of: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for p in group["params"]:
                index_of.setdefault(hash(p), len(index_of))
            packed["params"] = [index_of[hash(p)] for p in group["params"]]
            packed_groups.append(packed)
        packed_state = {index_of[hash(p)]: value for p, value in self.state._entries.values()
                        if hash(p) in index_of}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores a ``state_dict()`` (dlcore's or a torch optimizer's, with its tensors converted).

        Everything is checked -- the groups' layout and options, every state entry's name, shape
        and value -- before anything changes, so a bad state dict leaves the optimizer as it was.
        State tensors are copied to float32 on their parameter's device.
        """
        name = f"{self._name()}.load_state_dict"
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(f"{name}: the state dict has no '{key}' entry")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}, this optimizer has {len(self.param_groups)})")
        if any(len(saved["params"]) != len(group["params"]) for saved, group in zip(saved_groups, self.param_groups)):
            saved_sizes = [len(g["params"]) for g in saved_groups]
            sizes = [len(g["params"]) for g in self.param_groups]
            raise ValueError(f"{name}: loaded state dict contains a parameter group that doesn't match the size of "
                             f"optimizer's group ({saved_sizes} parameters per group, this optimizer has {sizes})")

        new_groups = []
        for index, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            new_group = {key: (tuple(value) if key == "betas" and isinstance(value, list) else value)
                         for key, value in saved.items()}
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            for key, default in self.defaults.items():
                new_group.setdefault(key, default)
            try:
                self._check_options(new_group)
            except (ValueError, TypeError, RuntimeError) as error:
                reason = str(error).removeprefix(f"{self._name()}: ")
                raise type(error)(f"{name}: param_groups[{index}]: {reason}") from None
            new_groups.append(new_group)

        param_of: dict[Any, tuple[Tensor, dict[str, Any]]] = {}
        for saved, group in zip(saved_groups, new_groups):
            for saved_id, p in zip(saved["params"], group["params"]):
                param_of[saved_id] = (p, group)
        new_state = _ParamState()
        pending: list[tuple[Any, Tensor, dict[str, Any], dict[str, Any]]] = []
        for saved_id, entries in state_dict["state"].items():
            if saved_id not in param_of and isinstance(saved_id, str) and saved_id.isdigit():
                saved_id = int(saved_id)
            if saved_id not in param_of:
                raise ValueError(f"{name}: state for parameter {saved_id!r}, which no param group lists")
            if not isinstance(entries, dict):
                raise TypeError(f"{name}: the state of parameter {saved_id} must be a dict, got {_typename(entries)}")
            p, group = param_of[saved_id]
            pending.append((saved_id, p, group, {key: self._load_entry(name, saved_id, key, value, p)
                                                 for key, value in entries.items()}))
        for saved_id, p, group, entries in pending:
            missing = [key for key in self._required_state(group) if entries and key not in entries]
            if missing:
                raise ValueError(f"{name}: the state of parameter {saved_id} lacks {missing} (it has "
                                 f"{sorted(entries)})")
            new_state[p] = entries
        self.state = new_state
        self.param_groups[:] = new_groups

    def _required_state(self, group: dict[str, Any]) -> list[str]:
        """The state names a parameter's non-empty state must hold under this group's options."""
        return [*self._scalar_state, *self._tensor_state]

    def _load_entry(self, name: str, index: Any, key: str, value: Any, param: Tensor) -> Any:
        """One state entry as this optimizer keeps it: float32 on the parameter's device, or a counter."""
        where = f"{name}: state '{index}.{key}'"
        if key in self._scalar_state:
            number = _one_number(value)
            if number is None or not math.isfinite(number):
                raise ValueError(f"{where} is {value!r}; it must be one finite number")
            if key == "step" and not (0.0 <= number < 2.0 ** 24 and number == math.floor(number)):
                raise ValueError(f"{where} is {number!r}; a step count must be a non-negative integer below 2^24")
            return _C.tensor(number)  # a float32 CPU scalar, as torch keeps it
        if key not in self._tensor_state:
            known = [*self._scalar_state, *self._tensor_state]
            raise ValueError(f"{where}: unknown state for {self._name()} (it keeps {known})")
        if value is None and key in self._optional_none_state:
            return None
        if not isinstance(value, Tensor):
            try:
                value = _C.tensor(np.asarray(value, dtype=np.float32))
            except (TypeError, ValueError):
                raise TypeError(f"{where} must be a tensor, got {_typename(value)}") from None
        if not value.is_floating_point() or tuple(value.shape) != tuple(param.shape):
            raise ValueError(f"{where} is {_describe(value)} but parameter {index} is {_describe(param)}")
        return value.detach().to(_C.dtype.float32).to(param.device).clone()

    def __repr__(self) -> str:
        lines = [f"{self._name()} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"


Optimizer.step = _with_step_hooks(Optimizer.step)  # type: ignore[method-assign]


def _zeros_like(p: Tensor) -> Tensor:
    return _C.zeros(tuple(p.shape), device=p.device)


def _full_like(p: Tensor, value: float) -> Tensor:
    return _C.full(tuple(p.shape), value, device=p.device)


def _step_counter() -> Tensor:
    return _C.tensor(0.0)  # torch's state["step"]: a float32 CPU scalar


__all__ = ["Optimizer", "required"]
