"""Module hooks with PyTorch's semantics and call order (``torch.nn.Module._call_impl``).

Forward pre-hooks, forward, forward hooks; backward pre-hooks and full backward hooks run when the
gradients w.r.t. the module's outputs / inputs are computed (built on ``_C._hook_group_gradients``).
The hook dicts live on the C++ module (``Module._hooks``), so they outlive any one Python wrapper.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Callable

from .. import _C


class RemovableHandle:
    """Removes the hook it was returned for, like ``torch.utils.hooks.RemovableHandle``."""

    next_id = 0

    def __init__(self, hooks_dict: OrderedDict, extra_dicts: tuple = ()) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.extra_dicts_ref = tuple(weakref.ref(d) for d in extra_dicts)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dicts_ref):
            hooks = ref()
            if hooks is not None:
                hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _ModuleHooks:
    """The hook dicts of one module, keyed by handle id in call order."""

    def __init__(self) -> None:
        self.forward_pre: OrderedDict = OrderedDict()
        self.forward_pre_with_kwargs: OrderedDict = OrderedDict()
        self.forward: OrderedDict = OrderedDict()
        self.forward_with_kwargs: OrderedDict = OrderedDict()
        self.backward: OrderedDict = OrderedDict()
        self.backward_pre: OrderedDict = OrderedDict()


def _hooks_of(module: Any) -> _ModuleHooks:
    hooks = module._hooks
    if hooks is None:
        hooks = _ModuleHooks()
        module._hooks = hooks
    return hooks


def _add(hooks_dict: OrderedDict, hook: Callable, prepend: bool, extra: OrderedDict | None = None) -> RemovableHandle:
    handle = RemovableHandle(hooks_dict, (extra,) if extra is not None else ())
    hooks_dict[handle.id] = hook
    if prepend:
        hooks_dict.move_to_end(handle.id, last=False)
    return handle


def register_forward_pre_hook(module: Any, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
    """hook(module, args) -> None or new args (a tuple, or a single value that becomes ``(value,)``);
    with ``with_kwargs=True``: hook(module, args, kwargs) -> None or ``(args, kwargs)``."""
    hooks = _hooks_of(module)
    handle = _add(hooks.forward_pre, hook, prepend, hooks.forward_pre_with_kwargs)
    if with_kwargs:
        hooks.forward_pre_with_kwargs[handle.id] = True
    return handle


def register_forward_hook(module: Any, hook: Callable, *, prepend: bool = False,
                          with_kwargs: bool = False) -> RemovableHandle:
    """hook(module, args, output) -> None or a replacement output; with ``with_kwargs=True``:
    hook(module, args, kwargs, output)."""
    hooks = _hooks_of(module)
    handle = _add(hooks.forward, hook, prepend, hooks.forward_with_kwargs)
    if with_kwargs:
        hooks.forward_with_kwargs[handle.id] = True
    return handle


def register_full_backward_hook(module: Any, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """hook(module, grad_input, grad_output) -> None or a replacement grad_input tuple, once the
    gradients w.r.t. the module's positional inputs are computed (None where an input has none)."""
    return _add(_hooks_of(module).backward, hook, prepend)


def register_full_backward_pre_hook(module: Any, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """hook(module, grad_output) -> None or a replacement grad_output tuple, before the gradients
    w.r.t. the module's outputs flow into it."""
    return _add(_hooks_of(module).backward_pre, hook, prepend)


class _BackwardHook:
    """One forward call's backward hooks (torch.utils.hooks.BackwardHook): captures grad_output at
    the outputs, runs the pre-hooks there, and the full backward hooks at the inputs."""

    def __init__(self, module: Any, hooks: _ModuleHooks) -> None:
        self.module = module
        self.user_hooks = list(hooks.backward.values())
        self.user_pre_hooks = list(hooks.backward_pre.values())
        self.grad_outputs: tuple | None = None
        self.n_inputs = 0
        self.input_tensors_index: list[int] | None = None

    @staticmethod
    def _tensor_positions(values: tuple) -> list[int]:
        return [i for i, v in enumerate(values) if isinstance(v, _C.Tensor)]

    @staticmethod
    def _wants_grad(values: tuple, positions: list[int]) -> bool:
        return _C.is_grad_enabled() and any(values[i].requires_grad for i in positions)

    def setup_input_hook(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        positions = self._tensor_positions(args)
        if not self._wants_grad(args, positions):
            return args
        self.input_tensors_index = positions
        aliases = _C._hook_group_gradients([args[i] for i in positions], self._on_grad_inputs)
        new_args = list(args)
        for i, alias in zip(positions, aliases):
            new_args[i] = alias
        return tuple(new_args)

    def setup_output_hook(self, result: Any) -> Any:
        single = isinstance(result, _C.Tensor)
        outputs = (result,) if single else result
        if not isinstance(outputs, tuple):
            return result
        positions = self._tensor_positions(outputs)
        self.n_outputs = len(outputs)
        self.output_tensors_index = positions
        if not self._wants_grad(outputs, positions):
            return result
        aliases = _C._hook_group_gradients([outputs[i] for i in positions], self._on_grad_outputs)
        new_outputs = list(outputs)
        for i, alias in zip(positions, aliases):
            new_outputs[i] = alias
        return new_outputs[0] if single else tuple(new_outputs)

    @staticmethod
    def _pack(positions: list[int], grads: list, n: int) -> tuple:
        packed: list = [None] * n
        for i, g in zip(positions, grads):
            packed[i] = g
        return tuple(packed)

    def _on_grad_outputs(self, grads: list) -> list | None:
        self.grad_outputs = self._pack(self.output_tensors_index, grads, self.n_outputs)
        for hook in self.user_pre_hooks:
            result = hook(self.module, self.grad_outputs)
            if result is None:
                continue
            if len(result) != len(self.grad_outputs):
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(result)}, "
                                   f"but expected {len(self.grad_outputs)}")
            self.grad_outputs = tuple(result)
        grad_outputs = self.grad_outputs
        if self.input_tensors_index is None:  # no input needs a gradient: the hooks run here, as in torch
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                result = hook(self.module, grad_inputs, grad_outputs)
                if result is not None and not (isinstance(result, tuple) and all(r is None for r in result)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return [grad_outputs[i] for i in self.output_tensors_index]

    def _on_grad_inputs(self, grads: list) -> list | None:
        if self.grad_outputs is None:  # the gradient reached the inputs without passing through the outputs
            return None
        grad_inputs = self._pack(self.input_tensors_index, grads, self.n_inputs)
        for hook in self.user_hooks:
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is None:
                continue
            if len(result) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(result)}, "
                                   f"but expected {len(grad_inputs)}")
            grad_inputs = tuple(result)
        self.grad_outputs = None
        return [grad_inputs[i] for i in self.input_tensors_index]


def call_with_hooks(module: Any, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` through its hooks, in torch's order."""
    hooks: _ModuleHooks = module._hooks
    for hook_id, hook in list(hooks.forward_pre.items()):
        if hook_id in hooks.forward_pre_with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                       f"but got {result}.")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    backward_hook = None
    if hooks.backward or hooks.backward_pre:
        backward_hook = _BackwardHook(module, hooks)
        args = backward_hook.setup_input_hook(args)
    output = module.forward(*args, **kwargs)
    for hook_id, hook in list(hooks.forward.items()):
        if hook_id in hooks.forward_with_kwargs:
            result = hook(module, args, kwargs, output)
        else:
            result = hook(module, args, output)
        if result is not None:
            output = result
    if backward_hook is not None:
        output = backward_hook.setup_output_hook(output)
    return output


def install(module_class: type) -> None:
    """Adds the register_*hook methods to dlcore.nn.Module (their state and __call__ are in C++)."""
    module_class.register_forward_pre_hook = register_forward_pre_hook
    module_class.register_forward_hook = register_forward_hook
    module_class.register_full_backward_hook = register_full_backward_hook
    module_class.register_full_backward_pre_hook = register_full_backward_pre_hook
