"""``dl.save`` / ``dl.load``: checkpoints as safetensors files, never pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are tensors, numpy arrays,
numbers, strings, bools, None, devices or dtypes (a model's, an optimizer's and a scheduler's state
dicts, an epoch counter, ...). Tensors become the file's named tensors; the nesting and the other
leaves go into its JSON metadata. Saving to a path is atomic (see safetensors_format), so an
interrupted save never leaves a broken checkpoint.

``dl.load`` also reads PyTorch's ``torch.save`` files (see torch_format) without torch and without
running any pickle code. Every malformed file raises ValueError naming the file.

Format "2" (written now) names each tensor by its path of keys, each key escaped so that different
paths never share a name (format "1" let ``{'a/b': x}`` and ``{'a': {'b': y}}``, or the keys ``0``
and ``'0'``, collide and overwrite each other). Format "1" files still load: the structure names
its tensors explicitly, so reading never depends on the naming rule.
"""
from __future__ import annotations

import io
import json
import os
import re
from collections import OrderedDict
from typing import IO, Any, Union

import numpy as np

from . import _C
from . import torch_format
from ._placement import MapLocation, Placement, PlacementFailed, place
from .safetensors_format import (BF16_DTYPE, load_file, open_for_reading, remaining_bytes, save_file,
                                  source_name)

_STRUCTURE_KEY = "dlcore.structure"
_FORMAT_KEY = "dlcore.format"
_FORMAT = "2"
_READABLE_FORMATS = ("1", "2")
_MAX_DEPTH = 100  # containers inside containers; real checkpoints nest a handful of levels
_DTYPES = {name: getattr(_C.dtype, name) for name in
           ("bool", "uint8", "int32", "int64", "float16", "bfloat16", "float32", "float64")}

File = Union[str, "os.PathLike[str]", IO[bytes]]


def _tensor_to_array(t: _C.Tensor) -> np.ndarray:
    """A tensor's values in its own dtype; bfloat16 as its bit patterns (exact through float32)."""
    t = t.detach().cpu()
    if t.dtype == _C.dtype.bfloat16:
        bits = np.asarray(t.float().numpy(), order="C").view(np.uint32) >> 16  # asarray: keeps 0-d 0-d
        return bits.astype("<u2").view(BF16_DTYPE)
    return np.asarray(t.numpy(), order="C")  # keeps 0-d tensors 0-d


def _array_to_tensor(array: np.ndarray) -> _C.Tensor:
    if array.dtype == BF16_DTYPE:
        # flattened first: arithmetic on a 0-d array gives a numpy scalar, which from_numpy refuses
        values = (array.reshape(-1).view("<u2").astype(np.uint32) << 16).view(np.float32)
        return _C.from_numpy(values.reshape(array.shape)).bfloat16()
    return _C.from_numpy(array)


# ---- saving ----

_INTEGER_TEXT = re.compile(r"-?[0-9]+")


def _name_component(key: Any) -> str:
    """One key of a tensor's path, as it appears in the tensor's name; injective over (type, value).

    Integers (list indices, int dict keys) are their digits. Strings keep their text, with '~' and
    '/' escaped as ~0 and ~1 (JSON pointer's rule); a string that would read as an integer, is
    empty, or is safetensors' reserved '__metadata__' gets a '~s' prefix, which no other component
    can start with. Other key types get their own '~' prefix.
    """
    if isinstance(key, bool):
        return f"~b{int(key)}"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return f"~f{key!r}"
    if key is None:
        return "~n"
    text = key.replace("~", "~0").replace("/", "~1")
    if not text or _INTEGER_TEXT.fullmatch(text) or text == "__metadata__":
        text = "~s" + text
    return text


def _key_entry(key: Any, where: str) -> str:
    if isinstance(key, bool):
        return f"bool:{key}"
    if isinstance(key, int):
        return f"int:{key}"
    if isinstance(key, float):
        return f"float:{key!r}"
    if key is None:
        return "none:"
    if isinstance(key, str):
        return f"str:{key}"
    raise TypeError(f"save: dict keys must be str, int, float, bool or None, got {type(key).__name__} at '{where}'")


class _Encoder:
    """Turns a checkpoint into (JSON structure, name -> array)."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, obj: Any, path: tuple, depth: int) -> Any:
        where = "/".join(str(p) for p in path) or "<root>"
        if depth > _MAX_DEPTH:
            raise ValueError(f"save: the checkpoint nests containers deeper than {_MAX_DEPTH} levels at '{where}' "
                             f"(a container that contains itself?)")
        if isinstance(obj, _C.Tensor):
            name = self._name(path, "tensor")
            self.arrays[name] = _tensor_to_array(obj)
            entry: dict[str, Any] = {"__tensor__": name}
            if obj.device.type != "cpu":
                entry["device"] = str(obj.device)
            if obj.requires_grad:
                entry["requires_grad"] = True
            if isinstance(obj, _C.Parameter):
                entry["parameter"] = True
            return entry
        if isinstance(obj, np.ndarray):
            name = self._name(path, "array")
            self.arrays[name] = np.asarray(obj, order="C")
            return {"__ndarray__": name}
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                out[_key_entry(k, where)] = self.encode(v, path + (k,), depth + 1)
            return {"__dict__": out}
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, path + (i,), depth + 1) for i, v in enumerate(obj)]
            return {"__tuple__" if isinstance(obj, tuple) else "__list__": items}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, _C.device):
            return {"__device__": str(obj)}
        if isinstance(obj, _C.dtype):
            return {"__dtype__": str(obj).rpartition(".")[2]}
        if callable(getattr(obj, "state_dict", None)):
            kind = type(obj).__name__
            raise TypeError(f"save: cannot store a {kind} object at '{where}': dlcore never pickles objects; save "
                            f"its state instead, e.g. dl.save(model.state_dict(), f) (and load it back with "
                            f"load_state_dict)")
        raise TypeError(f"save: cannot store a {type(obj).__name__} at '{where}' (tensors, numpy arrays, numbers, "
                        f"strings, None, devices, dtypes and dict/list/tuple of them are supported)")

    def _name(self, path: tuple, root_name: str) -> str:
        name = "/".join(_name_component(k) for k in path) if path else root_name
        assert name not in self.arrays, name  # the naming rule is injective
        return name


def save(obj: Any, f: File) -> None:
    """Writes ``obj`` (nested dicts/lists/tuples of tensors and plain values) as a safetensors file.

    ``f`` is a path (written atomically: a temp file renamed over it) or a writable binary file
    object. Modules, optimizers and schedulers raise TypeError: save their ``state_dict()``.
    Tensors are stored contiguously in their own dtype; views of one storage are stored separately.
    """
    encoder = _Encoder()
    structure = encoder.encode(obj, (), 0)
    save_file(f, encoder.arrays, {_FORMAT_KEY: _FORMAT, _STRUCTURE_KEY: json.dumps(structure)})


# ---- loading dlcore's format ----

class _Decoder:
    """Rebuilds a checkpoint from its JSON structure and arrays, validating every entry."""

    _TENSOR_FIELDS = {"__tensor__", "device", "requires_grad", "parameter"}

    def __init__(self, arrays: dict[str, np.ndarray], placement: Placement, file: str, version: str) -> None:
        self.arrays, self.placement, self.file, self.version = arrays, placement, file, version
        self.converted: dict[str, _C.Tensor] = {}

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"load: {self.file}: corrupted checkpoint structure: {problem}")

    def tensor(self, name: Any, location: str = "cpu") -> _C.Tensor:
        if isinstance(name, str) and name in self.converted:  # named twice (only a hand-made file does)
            t = self.converted[name]
        else:
            if not isinstance(name, str) or name not in self.arrays:
                raise ValueError(f"load: {self.file}: metadata names tensor {name!r:.80} that the file does not "
                                 f"contain")
            array = self.arrays.pop(name)  # dropped once converted: loading holds one copy of the data, not two
            try:
                t = _array_to_tensor(array)
            except TypeError:
                raise ValueError(f"load: {self.file}: tensor '{name}' has dtype {array.dtype}, which dlcore has no "
                                 f"dtype for (supported: {', '.join(_DTYPES)})") from None
            self.converted[name] = t
        shape = t.shape
        return place(self.placement, t.reshape(-1), location).view(shape)

    def decode(self, obj: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail(f"containers nested deeper than {_MAX_DEPTH} levels")
        if isinstance(obj, list):
            raise self.fail("a bare JSON list")
        if not isinstance(obj, dict):
            return obj  # a JSON number, string, bool or null
        if len(obj) != 1 and "__tensor__" not in obj:
            raise self.fail(f"unrecognised entry with keys {sorted(obj)[:5]}")
        if "__tensor__" in obj:
            return self._tensor_entry(obj)
        (kind, value), = obj.items()
        if kind == "__ndarray__":
            if not isinstance(value, str) or value not in self.arrays:
                raise ValueError(f"load: {self.file}: metadata names array {value!r:.80} that the file does not "
                                 f"contain")
            return self.arrays[value]
        if kind == "__dict__":
            if not isinstance(value, dict):
                raise self.fail("__dict__ must hold a JSON object")
            out: OrderedDict[Any, Any] = OrderedDict()
            for key, item in value.items():
                out[self._key(key)] = self.decode(item, depth + 1)
            return out
        if kind in ("__list__", "__tuple__"):
            if not isinstance(value, list):
                raise self.fail(f"{kind} must hold a JSON list")
            items = [self.decode(item, depth + 1) for item in value]
            return items if kind == "__list__" else tuple(items)
        if kind == "__device__" and self.version != "1":
            if not isinstance(value, str):
                raise self.fail("__device__ must be a string")
            try:
                return _C.device(value)
            except Exception:
                raise self.fail(f"invalid device {value!r:.80}") from None
        if kind == "__dtype__" and self.version != "1":
            if value not in _DTYPES:
                raise self.fail(f"unknown dtype {value!r:.80}")
            return _DTYPES[value]
        raise self.fail(f"unrecognised entry with keys {sorted(obj)[:5]}")

    def _tensor_entry(self, obj: dict) -> _C.Tensor:
        extra = set(obj) - (self._TENSOR_FIELDS if self.version != "1" else {"__tensor__"})
        if extra:
            raise self.fail(f"tensor entry with unknown fields {sorted(extra)[:5]}")
        location = obj.get("device", "cpu")
        requires_grad = obj.get("requires_grad", False)
        parameter = obj.get("parameter", False)
        if not isinstance(location, str) or not isinstance(requires_grad, bool) or not isinstance(parameter, bool):
            raise self.fail("a tensor entry's device must be a string, requires_grad and parameter booleans")
        t = self.tensor(obj["__tensor__"], location)
        if requires_grad and not t.is_floating_point():
            raise self.fail(f"tensor {obj['__tensor__']!r} of dtype {t.dtype} cannot require gradients")
        if parameter:
            return _C.Parameter(t, requires_grad)
        return t.requires_grad_(True) if requires_grad else t

    def _key(self, entry: str) -> Any:
        kind, sep, text = entry.partition(":")
        if not sep:
            raise self.fail(f"dict key {entry!r:.80} has no type prefix")
        if kind == "int":
            try:
                return int(text)
            except ValueError:
                raise self.fail(f"dict key {entry!r:.80} is not an integer") from None
        if self.version == "1" or kind == "str":
            return text  # format 1 wrote any other key type as its text
        if kind == "bool" and text in ("True", "False"):
            return text == "True"
        if kind == "float":
            try:
                return float(text)
            except ValueError:
                raise self.fail(f"dict key {entry!r:.80} is not a float") from None
        if kind == "none" and not text:
            return None
        raise self.fail(f"dict key {entry!r:.80} has an unknown type")


def _load_safetensors(f: IO[bytes], name: str, placement: Placement) -> Any:
    arrays, metadata = load_file(f, name=name)
    if _STRUCTURE_KEY not in metadata:  # a plain safetensors file from another tool: name -> tensor
        decoder = _Decoder(arrays, placement, name, _FORMAT)
        return OrderedDict((k, decoder.tensor(k)) for k in list(arrays))
    version = metadata.get(_FORMAT_KEY, "1")
    if version not in _READABLE_FORMATS:
        raise ValueError(f"load: {name}: dlcore checkpoint format {version!r:.40} is not one this dlcore reads "
                         f"({', '.join(_READABLE_FORMATS)}); it was written by a newer dlcore")
    try:
        structure = json.loads(metadata[_STRUCTURE_KEY])
    except RecursionError:
        raise ValueError(f"load: {name}: corrupted checkpoint structure: JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, or an integer too long to convert
        raise ValueError(f"load: {name}: corrupted checkpoint structure ({e})") from None
    decoder = _Decoder(arrays, placement, name, version)
    try:
        return decoder.decode(structure, 0)
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError, RecursionError) as e:
        # every case above is checked explicitly; this net keeps a missed one a ValueError too
        raise ValueError(f"load: {name}: corrupted checkpoint structure ({type(e).__name__}: {e})") from None


def load(f: File, map_location: MapLocation = None, pickle_module: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Reads a checkpoint: dlcore's (``dl.save``), any safetensors file, or PyTorch's ``torch.save`` file.

    ``f`` is a path (a regular file; a device or FIFO raises ValueError) or a readable binary file
    object. ``map_location``: see Placement (tensors load onto the CPU by default). ``weights_only``
    is accepted for torch's sake: dlcore always loads as torch's ``weights_only=True`` does, admitting
    only tensors, storages and containers from a pickle, and never runs pickle code, even with False.
    ``mmap`` is accepted (a path only, as torch requires) but changes nothing: dlcore tensors own their
    memory, so the data is read into it either way (one copy: peak memory is about the checkpoint's
    size, as with torch without mmap). ``pickle_module`` is not supported (nothing is unpickled with
    it); ``encoding`` is the one pickle argument accepted.

    A dlcore checkpoint comes back as saved (dicts as OrderedDict); a plain safetensors file as an
    OrderedDict of tensors; a torch file as torch built it, with dlcore tensors. A malformed or
    hostile file raises ValueError naming the file.
    """
    if pickle_module is not None:
        raise TypeError("load: pickle_module is not supported: dlcore reads pickles with its own restricted "
                        "unpickler and never runs pickle code")
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be None or a bool, got {type(weights_only).__name__}")
    if mmap is not None and not isinstance(mmap, bool):
        raise TypeError(f"load: mmap must be None or a bool, got {type(mmap).__name__}")
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args:
        raise TypeError(f"load: unexpected keyword argument(s) {', '.join(sorted(pickle_load_args))}")
    placement = Placement(map_location)
    is_path = isinstance(f, (str, os.PathLike))
    if mmap and not is_path:
        raise ValueError("load: f must be a file path in order to use the mmap argument")
    if not is_path and not callable(getattr(f, "read", None)):
        raise TypeError(f"load: f must be a path or a readable binary file object, got {type(f).__name__}")
    name = source_name(f)
    handle = open_for_reading(f) if is_path else f
    try:
        if remaining_bytes(handle) is None:  # a stream we cannot seek in: torch reads those into memory too
            handle = io.BytesIO(handle.read())
        start = handle.tell()
        head = handle.read(torch_format.SNIFF_BYTES)
        handle.seek(start)
        try:
            kind = torch_format.sniff(head)
            if kind != "safetensors":
                return torch_format.load(handle, kind, name, placement, encoding, weights_only)
            return _load_safetensors(handle, name, placement)
        except PlacementFailed as failed:
            raise failed.error from None
    finally:
        if is_path:
            handle.close()


__all__ = ["save", "load", "Placement"]
