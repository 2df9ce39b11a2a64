"""torch.nn's containers over dlcore's C++ Module registry: Sequential (the C++ class, which runs
its children in C++, given Python's list protocol and OrderedDict construction), ModuleList,
ModuleDict, ParameterList, ParameterDict and Identity. They are bookkeeping only: children and
parameters live in the C++ registry under torch's names ("0", "1", ... or the dict keys), so
state_dict keys, .to(), train/eval and parameters() see them as torch's do. Each keeps its
(name, value) entries in order on the Python side too, because the C++ registry appends and
collapses repeated modules, while torch's containers keep positions and repeats.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from .. import _C

Module = _C.nn.Module
Parameter = _C.Parameter


def _normalized_index(index: int, length: int, container: str) -> int:
    if not -length <= index < length:
        raise IndexError(f"{container}: index {index} out of range for {length} entries")
    return index % length


class _OrderedEntries:
    """The ordered (name, value) list and its mirror in the C++ registry."""

    def _entries(self) -> list[tuple[str, Any]]:
        return self.__dict__.setdefault("_ordered_entries", [])

    def _set_entries(self, entries: list[tuple[str, Any]]) -> None:
        for name, _ in self._entries():
            delattr(self, name)
        self.__dict__["_ordered_entries"] = []
        for name, value in entries:
            self._add_entry(name, value)

    def _add_entry(self, name: str, value: Any) -> None:
        entries = self._entries()
        if any(existing == name for existing, _ in entries):
            self._set_entries([(n, value if n == name else v) for n, v in entries])
            return
        Module.__setattr__(self, name, value)
        entries.append((name, value))

    def _renumbered(self, values: list[Any]) -> None:
        self._set_entries([(str(i), v) for i, v in enumerate(values)])

    def _values(self) -> list[Any]:
        return [value for _, value in self._entries()]

    def __len__(self) -> int:
        return len(self._entries())


class _ListProtocol(_OrderedEntries):
    """Indexing, slicing, item assignment, deletion, iteration, append/extend/insert over entries
    named "0", "1", ... (Sequential may also hold named entries from an OrderedDict)."""

    _kind = "container"

    def _check(self, value: Any) -> Any:
        return value

    def _from_slice(self, entries: list[tuple[str, Any]]) -> Any:
        return type(self)([value for _, value in entries])

    def __getitem__(self, index: int | slice) -> Any:
        entries = self._entries()
        if isinstance(index, slice):
            return self._from_slice(entries[index])
        return entries[_normalized_index(int(index), len(entries), self._kind)][1]

    def __setitem__(self, index: int, value: Any) -> None:
        entries = list(self._entries())
        i = _normalized_index(int(index), len(entries), self._kind)
        entries[i] = (entries[i][0], self._check(value))
        self._set_entries(entries)

    def __delitem__(self, index: int | slice) -> None:
        entries = self._entries()
        doomed = set(range(len(entries))[index]) if isinstance(index, slice) else \
            {_normalized_index(int(index), len(entries), self._kind)}
        self._renumbered([v for i, (_, v) in enumerate(entries) if i not in doomed])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values())

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, value: Any) -> Any:
        self._add_entry(str(len(self)), self._check(value))
        return self

    def extend(self, values: Iterable[Any]) -> Any:
        for value in values:
            self.append(value)
        return self

    def insert(self, index: int, value: Any) -> None:
        values = self._values()
        values.insert(index, self._check(value))
        self._renumbered(values)

    def pop(self, index: int = -1) -> Any:
        value = self[index]
        del self[index]
        return value


def _require_module(value: Any, container: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{container}: {type(value).__name__} is not a Module subclass")
    return value


class Sequential(_ListProtocol, _C.nn.Sequential):
    """Runs its modules in order (torch.nn.Sequential): ``Sequential(a, b)`` or
    ``Sequential(OrderedDict(name=module))``; indexing, slicing, append/insert/extend/pop, len,
    iteration, ``del`` and item assignment as in torch."""

    _kind = "Sequential"

    def __init__(self, *args: Any) -> None:
        _C.nn.Sequential.__init__(self)
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self._add_entry(name, _require_module(module, "Sequential"))
        else:
            for module in args:
                self.append(module)

    def _check(self, value: Any) -> Module:
        return _require_module(value, "Sequential")

    def _from_slice(self, entries: list[tuple[str, Any]]) -> "Sequential":
        return Sequential(OrderedDict(entries))

    def add_module(self, name: str, module: Module | None) -> None:
        self._add_entry(name, module)

    def forward(self, input: Any) -> Any:  # noqa: A002  (torch's argument name)
        # Each child through its Python __call__: the C++ loop would call the C++ forward of layers
        # whose Python subclass extends it (Linear's leading dims, Conv2d's padding='same', ...).
        for name, module in self._entries():
            if module is None:
                raise ValueError(f"Sequential: submodule '{name}' is None and cannot be called")
            input = module(input)
        return input


class ModuleList(_ListProtocol, Module):
    """A list of modules registered as children "0", "1", ... (torch.nn.ModuleList)."""

    _kind = "ModuleList"

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        Module.__init__(self)
        if modules is not None:
            self.extend(modules)

    def _check(self, value: Any) -> Module:
        return _require_module(value, "ModuleList")

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        return ModuleList(list(self) + list(other))

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward: iterate over it and call its modules")


class ParameterList(_ListProtocol, Module):
    """A list of Parameters registered as "0", "1", ... (torch.nn.ParameterList); plain tensors
    are wrapped as Parameters, as torch does."""

    _kind = "ParameterList"

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        Module.__init__(self)
        if values is not None:
            self.extend(values)

    def _check(self, value: Any) -> Any:
        return value if isinstance(value, Parameter) or not isinstance(value, _C.Tensor) else Parameter(value)

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                         for i, p in enumerate(self))

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError("ParameterList has no forward")


class _DictProtocol(_OrderedEntries):
    """Mapping behaviour over named entries (ModuleDict, ParameterDict)."""

    def _check(self, value: Any) -> Any:
        return value

    def __getitem__(self, key: str) -> Any:
        for name, value in self._entries():
            if name == key:
                return value
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._add_entry(key, self._check(value))

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._set_entries([(n, v) for n, v in self._entries() if n != key])

    def __contains__(self, key: object) -> bool:
        return any(name == key for name, _ in self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> list[str]:
        return [name for name, _ in self._entries()]

    def values(self) -> list[Any]:
        return self._values()

    def items(self) -> list[tuple[str, Any]]:
        return list(self._entries())

    def update(self, other: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        for key, value in (other.items() if isinstance(other, Mapping) else other):
            self[key] = value

    def pop(self, key: str) -> Any:
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        self._set_entries([])


class ModuleDict(_DictProtocol, Module):
    """Modules registered under string keys, in insertion order (torch.nn.ModuleDict)."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        Module.__init__(self)
        if modules is not None:
            self.update(modules)

    def _check(self, value: Any) -> Module:
        return _require_module(value, "ModuleDict")

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward: index it and call its modules")


class ParameterDict(_DictProtocol, Module):
    """Parameters registered under string keys (torch.nn.ParameterDict); tensors become Parameters."""

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        Module.__init__(self)
        if parameters is not None:
            self.update(parameters)

    def _check(self, value: Any) -> Any:
        return value if isinstance(value, Parameter) or not isinstance(value, _C.Tensor) else Parameter(value)

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                         for k, p in self.items())

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError("ParameterDict has no forward")


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments (torch.nn.Identity)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Module.__init__(self)

    def forward(self, input: Any) -> Any:  # noqa: A002  (torch's argument name)
        return input
