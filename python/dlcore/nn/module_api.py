"""The parts of torch.nn.Module's API that are bookkeeping over the C++ registry, installed on
``dl.nn.Module``: ``to(device, dtype)`` and ``half/float/double/bfloat16``, ``requires_grad_``,
``register_buffer(persistent=False)`` (kept out of ``state_dict``), ``state_dict(prefix=,
keep_vars=)``, ``load_state_dict`` returning torch's ``(missing_keys, unexpected_keys)`` named
tuple and raising torch's RuntimeError when strict, ``named_modules(memo, prefix,
remove_duplicate)``, ``buffers(recurse)``, ``get_submodule/get_parameter/get_buffer``.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Iterator

from .. import _C

class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """load_state_dict's result, printed as torch prints it when every key matched."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

_FLOATING = (_C.dtype.float16, _C.dtype.bfloat16, _C.dtype.float32, _C.dtype.float64)


def _non_persistent(module: Any) -> set[str]:
    return module.__dict__.setdefault("_non_persistent_buffers", set())


def install(Module: type) -> None:  # noqa: N803  (the class being extended)
    """Adds the methods below to ``Module`` (the C++ base class every dlcore module derives from)."""
    cpp_register_buffer = Module.register_buffer
    cpp_state_dict = Module.state_dict
    cpp_load_state_dict = Module.load_state_dict
    cpp_to = Module.to
    cpp_named_modules = Module.named_modules
    cpp_named_buffers = Module.named_buffers
    cpp_named_parameters = Module.named_parameters

    def register_buffer(self: Any, name: str, tensor: Any, persistent: bool = True) -> None:
        cpp_register_buffer(self, name, tensor)
        if persistent:
            _non_persistent(self).discard(name)
        else:
            _non_persistent(self).add(name)

    def _transient_keys(self: Any) -> set[str]:
        """state_dict keys of non-persistent buffers anywhere below ``self``."""
        keys: set[str] = set()
        for path, module in cpp_named_modules(self):
            for name in module.__dict__.get("_non_persistent_buffers", ()):
                keys.add(f"{path}.{name}" if path else name)
        return keys

    def state_dict(self: Any, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> Any:
        if args:  # torch's deprecated positional (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][len(args):])[:3]
        transient = _transient_keys(self)
        out = OrderedDict() if destination is None else destination
        params = dict(self.named_parameters()) if keep_vars else {}
        for key, value in cpp_state_dict(self).items():
            if key not in transient:
                out[prefix + key] = params.get(key, value)
        return out

    def load_state_dict(self: Any, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        expected = list(state_dict_method(self).keys())
        given = list(state_dict.keys())
        missing = [k for k in expected if k not in state_dict]
        unexpected = [k for k in given if k not in set(expected)]
        if strict and (missing or unexpected):
            lines = []
            if unexpected:
                lines.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                lines.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(lines))
        try:
            cpp_load_state_dict(self, {k: state_dict[k] for k in expected if k in state_dict}, False)
        except ValueError as error:  # a size mismatch: torch reports it as a RuntimeError
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t{error}") from error
        return _IncompatibleKeys(missing, unexpected)

    state_dict_method = state_dict

    def named_modules(self: Any, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
        seen = memo if memo is not None else set()
        for path, module in cpp_named_modules(self):
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            yield (prefix + ("." if prefix and path else "") + path, module)

    def modules(self: Any) -> Iterator[Any]:
        for _, module in named_modules(self):
            yield module

    def named_parameters(self: Any, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
        yield from cpp_named_parameters(self, prefix, recurse)

    def named_buffers(self: Any, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
        yield from cpp_named_buffers(self, prefix, recurse)

    def buffers(self: Any, recurse: bool = True) -> Iterator[Any]:
        for _, buffer in cpp_named_buffers(self, "", recurse):
            yield buffer

    def get_submodule(self: Any, target: str) -> Any:
        module = self
        for part in target.split(".") if target else []:
            child = dict(module.named_children()).get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}` (get_submodule({target!r}))")
            module = child
        return module

    def _get_leaf(self: Any, target: str, kind: str) -> Any:
        path, _, name = target.rpartition(".")
        owner = get_submodule(self, path)
        table = dict(owner.named_parameters(recurse=False)) if kind == "parameter" else \
            dict(cpp_named_buffers(owner, "", False))
        if name not in table:
            raise AttributeError(f"{type(owner).__name__} has no {kind} `{name}` (get_{kind}({target!r}))")
        return table[name]

    def requires_grad_(self: Any, requires_grad: bool = True) -> Any:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def _convert_floating(self: Any, dtype: Any) -> Any:
        """Re-registers each floating-point parameter and buffer as ``dtype``, in registry order
        (dlcore cannot retype a tensor in place, so these are new Parameter objects: build the
        optimizer after the conversion, as torch's docs advise anyway)."""
        if dtype != _C.dtype.float32 and any(_needs(p, dtype) for p in self.parameters()):
            raise NotImplementedError(f"{type(self).__name__}: cannot convert parameters to {dtype}: dlcore's "
                                      "Parameters are float32 (buffers and activations may use other dtypes)")
        for _, module in cpp_named_modules(self):
            params = list(module.named_parameters(recurse=False))
            buffers = list(cpp_named_buffers(module, "", False))
            # Re-registering appends, so every entry is re-registered in order to keep state_dict order.
            if any(_needs(p, dtype) for _, p in params):
                for name, p in params:
                    setattr(module, name, _converted_parameter(p, dtype) if _needs(p, dtype) else p)
            if any(_needs(b, dtype) for _, b in buffers):
                for name, b in buffers:
                    register_buffer(module, name, b.to(dtype) if _needs(b, dtype) else b,
                                    name not in _non_persistent(module))
        return self

    def to(self: Any, *args: Any, **kwargs: Any) -> Any:
        device, dtype = _parse_to(args, kwargs)
        if dtype is not None and dtype not in _FLOATING:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        if device is not None:
            cpp_to(self, device)
        if dtype is not None:
            _convert_floating(self, dtype)
        return self

    def __repr__(self: Any) -> str:
        """torch's layout: ``Name(extra_repr)`` or the children indented below it, each entry once
        per position (Python's extra_repr overrides are honoured, unlike the C++ repr)."""
        entries = self.__dict__.get("_ordered_entries")
        children = [(n, v) for n, v in entries if isinstance(v, Module)] if entries is not None else \
            list(self.named_children())
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, child in children:
            lines.append(f"({name}): " + repr(child).replace("\n", "\n  "))
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    Module.__repr__ = __repr__
    Module.register_buffer = register_buffer
    Module.state_dict = state_dict
    Module.load_state_dict = load_state_dict
    Module.named_modules = named_modules
    Module.modules = modules
    Module.named_buffers = named_buffers
    Module.named_parameters = named_parameters
    Module.buffers = buffers
    Module.get_submodule = get_submodule
    Module.get_parameter = lambda self, target: _get_leaf(self, target, "parameter")
    Module.get_buffer = lambda self, target: _get_leaf(self, target, "buffer")
    Module.requires_grad_ = requires_grad_
    Module.to = to
    Module.half = lambda self: _convert_floating(self, _C.dtype.float16)
    Module.float = lambda self: _convert_floating(self, _C.dtype.float32)
    Module.double = lambda self: _convert_floating(self, _C.dtype.float64)
    Module.bfloat16 = lambda self: _convert_floating(self, _C.dtype.bfloat16)


def _needs(tensor: Any, dtype: Any) -> bool:
    return tensor is not None and tensor.dtype in _FLOATING and tensor.dtype != dtype


def _converted_parameter(p: Any, dtype: Any) -> Any:
    converted = _C.Parameter(p.detach().to(dtype))
    converted.requires_grad_(p.requires_grad)
    return converted


def _parse_to(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """torch's Module.to overloads: (device), (dtype), (device, dtype), (tensor), keywords."""
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for arg in args:
        if isinstance(arg, _C.Tensor):
            device, dtype = arg.device, arg.dtype if arg.dtype in _FLOATING else dtype
        elif isinstance(arg, _C.dtype):
            dtype = arg
        elif isinstance(arg, bool):
            continue  # torch's positional non_blocking
        else:
            device = arg
    return device, dtype
