"""``dl.save`` / ``dl.load``: checkpoints as safetensors files, never pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are tensors, numbers, strings,
bools or None (a model's and an optimizer's state dicts, an epoch counter, ...). Tensors become the
file's named tensors; the nesting and the other leaves go into its JSON metadata. Files are written
atomically (see safetensors_format), so an interrupted save never leaves a broken checkpoint.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Any

import numpy as np

from . import _C
from .safetensors_format import BF16_DTYPE, load_file, save_file

_STRUCTURE_KEY = "dlcore.structure"
_FORMAT_KEY = "dlcore.format"
_FORMAT = "1"


def _tensor_to_array(t: _C.Tensor) -> np.ndarray:
    """A tensor's values in its own dtype; bfloat16 as its bit patterns (exact through float32)."""
    t = t.detach().cpu()
    if t.dtype == _C.dtype.bfloat16:
        bits = np.ascontiguousarray(t.float().numpy()).view(np.uint32) >> 16
        return bits.astype("<u2").view(BF16_DTYPE)
    return np.asarray(t.numpy(), order="C")  # keeps 0-d tensors 0-d


def _array_to_tensor(array: np.ndarray) -> _C.Tensor:
    if array.dtype == BF16_DTYPE:
        values = (array.view("<u2").astype(np.uint32) << 16).view(np.float32)
        return _C.from_numpy(values).bfloat16()
    return _C.from_numpy(array)


def _encode(obj: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, _C.Tensor):
        key = path or "tensor"
        arrays[key] = _tensor_to_array(obj)
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        key = path or "array"
        arrays[key] = np.asarray(obj, order="C")
        return {"__ndarray__": key}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} at '{path}'")
            out[f"{type(k).__name__}:{k}"] = _encode(v, f"{path}/{k}" if path else str(k), arrays)
        return {"__dict__": out}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{path}/{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return {"__tuple__" if isinstance(obj, tuple) else "__list__": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"save: cannot store a {type(obj).__name__} at '{path or '<root>'}' (tensors, numbers, strings, "
                    f"None and dict/list/tuple of them are supported)")


def _decode(obj: Any, arrays: dict[str, np.ndarray], device: str | None, file: str) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            key = obj["__tensor__"]
            if key not in arrays:
                raise ValueError(f"load: {file}: metadata names tensor '{key}' that the file does not contain")
            t = _array_to_tensor(arrays[key])
            return t.to(device) if device else t
        if "__ndarray__" in obj:
            return arrays[obj["__ndarray__"]]
        if "__dict__" in obj:
            out: OrderedDict[Any, Any] = OrderedDict()
            for k, v in obj["__dict__"].items():
                kind, _, name = k.partition(":")
                out[int(name) if kind == "int" else name] = _decode(v, arrays, device, file)
            return out
        if "__list__" in obj:
            return [_decode(v, arrays, device, file) for v in obj["__list__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, arrays, device, file) for v in obj["__tuple__"])
        raise ValueError(f"load: {file}: unrecognised entry in the checkpoint structure: {sorted(obj)}")
    return obj


def save(obj: Any, path: str | os.PathLike) -> None:
    """Writes ``obj`` (nested dicts/lists of tensors and plain values) to a safetensors file, atomically."""
    arrays: dict[str, np.ndarray] = {}
    structure = _encode(obj, "", arrays)
    save_file(path, arrays, {_FORMAT_KEY: _FORMAT, _STRUCTURE_KEY: json.dumps(structure)})


def load(path: str | os.PathLike, map_location: str | None = None) -> Any:
    """Reads a checkpoint written by ``save``; tensors land on ``map_location`` (default: the CPU).

    A plain safetensors file from another tool loads as a dict of tensors. A damaged file raises
    ``ValueError`` naming the file.
    """
    arrays, metadata = load_file(path)
    if _STRUCTURE_KEY not in metadata:
        return OrderedDict((k, _decode({"__tensor__": k}, arrays, map_location, str(path))) for k in arrays)
    try:
        structure = json.loads(metadata[_STRUCTURE_KEY])
    except json.JSONDecodeError as e:
        raise ValueError(f"load: {path}: corrupted checkpoint structure ({e})") from None
    return _decode(structure, arrays, map_location, str(path))


__all__ = ["save", "load"]
