"""Reading PyTorch's ``torch.save`` files without torch and without running pickle code.

Two layouts: the zip archive torch has written since 1.6 (``<name>/data.pkl`` holding the object
with storages as persistent ids, ``<name>/data/<key>`` holding each storage's raw bytes,
``<name>/byteorder``), and the older "legacy" stream (magic number, protocol, system info, the
object's pickle, the storage keys, then each storage's element count and bytes).

The pickle goes through a restricted unpickler (the pure-Python one, whose memo is a dict: the C
one sizes its memo array from an index in the file, so a crafted pickle could make it allocate
without bound). It admits only what a checkpoint needs, torch's own ``weights_only=True`` set:
tensor and Parameter rebuild functions, storage types, dtypes, torch.Size, torch.device,
OrderedDict, set/frozenset/complex and latin-1 bytes. Any other global is refused, naming it,
before anything runs; so is BUILD on anything but a dict's attributes (the state dict's
``_metadata``). Tensors become dlcore tensors with their dtype, shape, strides and storage offset,
tensors saved as views of one storage are views of one dlcore storage again, and ``requires_grad``
is restored. Anything malformed raises ValueError naming the file.
"""
from __future__ import annotations

import io
import math
import pickle
import struct
import warnings
import zipfile
import zlib
from collections import OrderedDict
from typing import IO, Any, Callable

import numpy as np

from . import _C
from .autograd import no_grad
from ._placement import Placement, PlacementFailed, place
from .safetensors_format import remaining_bytes

SNIFF_BYTES = 512
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_MAGIC_BYTES = _LEGACY_MAGIC.to_bytes(10, "little")  # how pickle's LONG1 spells it
_LEGACY_PROTOCOL = 1001
_MAX_PICKLE_BYTES = 1 << 30  # data.pkl holds the structure only (the tensor bytes are separate records)

# torch dtype name -> (little-endian numpy dtype, dlcore dtype or None where dlcore has none)
_DTYPES: dict[str, tuple[np.dtype, Any]] = {
    "float32": (np.dtype("<f4"), _C.dtype.float32), "float64": (np.dtype("<f8"), _C.dtype.float64),
    "float16": (np.dtype("<f2"), _C.dtype.float16), "bfloat16": (np.dtype("<u2"), _C.dtype.bfloat16),
    "int64": (np.dtype("<i8"), _C.dtype.int64), "int32": (np.dtype("<i4"), _C.dtype.int32),
    "uint8": (np.dtype("u1"), _C.dtype.uint8), "bool": (np.dtype("?"), _C.dtype.bool),
    "int16": (np.dtype("<i2"), None), "int8": (np.dtype("i1"), None), "uint16": (np.dtype("<u2"), None),
    "uint32": (np.dtype("<u4"), None), "uint64": (np.dtype("<u8"), None),
    "complex64": (np.dtype("<c8"), None), "complex128": (np.dtype("<c16"), None),
}
_DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
                  "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}
_STORAGE_TYPES = {"FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
                  "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                  "ByteStorage": "uint8", "BoolStorage": "bool", "ShortStorage": "int16", "CharStorage": "int8",
                  "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128"}


class UnsafeCheckpointError(pickle.UnpicklingError, ValueError):
    """A pickle in a checkpoint asked for something dlcore will not load (a global outside the
    admitted set). A ValueError like every other bad checkpoint, and an UnpicklingError like
    torch's ``weights_only`` refusals."""


def sniff(head: bytes) -> str:
    """'zip', 'legacy' or 'tar' for torch's layouts, else 'safetensors', from a file's first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head[:1] == b"\x80" and _LEGACY_MAGIC_BYTES in head[:32]:
        return "legacy"
    if head[257:262] == b"ustar":
        return "tar"
    return "safetensors"


# ---- building dlcore tensors ----

def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _dtype(name: str) -> tuple[np.dtype, Any]:
    numpy_dtype, dl_dtype = _DTYPES[name]
    if dl_dtype is None:
        raise ValueError(f"a tensor of dtype torch.{name}, which dlcore has no dtype for "
                         f"(dlcore has bool, uint8, int32, int64, float16, bfloat16, float32, float64)")
    return numpy_dtype, dl_dtype


def _from_bytes(data: bytes | bytearray | memoryview, dtype_name: str, big_endian: bool) -> _C.Tensor:
    """A 1-D CPU tensor of the storage's elements."""
    numpy_dtype, dl_dtype = _dtype(dtype_name)
    array = np.frombuffer(data, dtype=numpy_dtype.newbyteorder(">") if big_endian else numpy_dtype)
    if dtype_name == "bool" and array.size and array.view(np.uint8).max() > 1:
        raise ValueError("a bool storage holds bytes other than 0 and 1")
    if dtype_name == "bfloat16":
        values = (array.astype(np.uint32) << 16).view(np.float32)
        return _C.from_numpy(values).bfloat16()
    return _C.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=False))


def strided_view(flat: _C.Tensor, offset: int, size: tuple, stride: tuple) -> _C.Tensor:
    """The tensor with ``size``/``stride`` starting ``offset`` elements into the 1-D ``flat``, as a view
    of it when the layout is one the view ops can express (any layout torch's slicing, transposing,
    permuting and expanding produce), else as a copy of those elements.

    The non-trivial dimensions, largest stride first, must nest (each stride a multiple of the
    next, with room for the next dimension's extent); they are carved out of a contiguous block
    viewed as [size0, s0/s1, ..., s_last] by narrowing, and the block may start before ``offset``
    (by up to what the narrowed dimensions leave free) so that it ends inside the storage.
    """
    return _strided(flat, offset, size, stride)[0]


def _copy_strided(flat: _C.Tensor, offset: int, size: tuple, stride: tuple) -> _C.Tensor:
    """The elements of an arbitrary (overlapping, say) layout, copied into a new contiguous tensor."""
    source = flat.detach().cpu()
    as_float = source.dtype == _C.dtype.bfloat16
    values = (source.float() if as_float else source).numpy()
    picked = np.lib.stride_tricks.as_strided(values[offset:], shape=size,
                                             strides=[s * values.itemsize for s in stride]).copy()
    copy = _C.from_numpy(picked)
    return (copy.bfloat16() if as_float else copy).to(flat.device)


def _strided(flat: _C.Tensor, offset: int, size: tuple, stride: tuple) -> tuple[_C.Tensor, bool]:
    """strided_view, and whether the result is a view (True) or a copy (False)."""
    total = flat.numel()
    count = math.prod(size)
    if count == 0:
        return flat.narrow(0, 0, 0).reshape(list(size)), True
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= total:
        raise ValueError(f"a tensor of size {list(size)}, stride {list(stride)} and offset {offset} reaches "
                         f"element {last} of a storage of {total}")
    expected, step = [], 1
    for n in reversed(size):
        expected.append(step)
        step *= n
    if all(n == 1 or s == e for n, s, e in zip(size, stride, reversed(expected))):  # contiguous
        return flat.narrow(0, offset, count).view(list(size)), True

    order = sorted((d for d in range(len(size)) if size[d] > 1 and stride[d] > 0), key=lambda d: -stride[d])
    strides = [stride[d] for d in order]
    sizes = [size[d] for d in order]
    nests = all(a % b == 0 and a >= b * n for a, b, n in zip(strides, strides[1:], sizes[1:]))
    block = None
    if not order:
        block = flat.narrow(0, offset, 1).view([])
    elif nests:
        radices = [a // b for a, b in zip(strides, strides[1:])] + [strides[-1]]
        caps = [r - n for r, n in zip(radices[:-1], sizes[1:])] + [strides[-1] - 1]
        starts, rest = [], offset  # the inner starts, largest first: the block begins offset - shift
        for cap, unit in zip(caps, strides[1:] + [1]):
            c = min(cap, rest // unit)
            starts.append(c)
            rest -= c * unit
        begin = rest
        if begin + sizes[0] * strides[0] <= total:
            block = flat.narrow(0, begin, sizes[0] * strides[0]).view([sizes[0]] + radices)
            for dim, (c, n) in enumerate(zip(starts[:-1], sizes[1:]), start=1):
                block = block.narrow(dim, c, n)
            block = block.select(len(order), starts[-1])
    if block is None:  # overlapping or tail-truncated layouts: copy the elements instead
        if count > 64 * total + 4096:  # a view costs nothing, a copy of a crafted layout could be unbounded
            raise ValueError(f"a tensor of size {list(size)} and stride {list(stride)} that dlcore can only build as "
                             f"a copy, of {count} elements from a storage of {total}")
        return _copy_strided(flat, offset, size, stride), False
    labels = list(order)
    for d in range(len(size)):
        if d not in order:  # size-1 and stride-0 dimensions: added, then expanded
            block = block.unsqueeze(block.dim())
            labels.append(d)
    if len(size) > 1:
        block = block.permute([labels.index(d) for d in range(len(size))])
    if tuple(block.shape) != tuple(size):
        block = block.expand(list(size))
    return block, True


class _Storage:
    """One torch storage: its bytes (read when first needed) and its dlcore tensors per dtype, placed
    by map_location once, so every tensor viewing it shares one dlcore storage."""

    def __init__(self, loader: "_Loader", key: str, dtype_name: str | None, location: str, nbytes: int,
                 read: Callable[[], bytes] | None) -> None:
        self.loader, self.key, self.dtype_name, self.location, self.nbytes = loader, key, dtype_name, location, nbytes
        self.read = read
        self.flats: dict[str, _C.Tensor] = {}
        # legacy files: tensors that had to be copies rather than views, refreshed once the bytes arrive
        self.copies: list[tuple[_C.Tensor, str, int, tuple, tuple]] = []

    def flat(self, dtype_name: str) -> _C.Tensor:
        if dtype_name not in self.flats:
            itemsize = _dtype(dtype_name)[0].itemsize
            if self.nbytes % itemsize:
                raise ValueError(f"storage '{self.key}' of {self.nbytes} bytes does not hold whole "
                                 f"{dtype_name} elements")
            if self.read is not None:
                data = self.read()
                if len(data) != self.nbytes:
                    raise ValueError(f"storage '{self.key}' holds {len(data)} bytes, expected {self.nbytes}")
                cpu = _from_bytes(data, dtype_name, self.loader.big_endian)
            else:  # legacy files: the bytes come after the pickle and are copied in then
                cpu = _C.zeros(self.nbytes // itemsize, dtype=_dtype(dtype_name)[1])
            self.flats[dtype_name] = place(self.loader.placement, cpu, self.location)
        return self.flats[dtype_name]

    def fill(self, data: bytes) -> None:
        with no_grad():
            for dtype_name, flat in self.flats.items():
                flat.copy_(_from_bytes(data, dtype_name, self.loader.big_endian))
            for copy, dtype_name, offset, size, stride in self.copies:
                copy.copy_(_copy_strided(self.flats[dtype_name], offset, size, stride))


class _StorageView:
    """A legacy file's view of part of a storage (torch before 0.4 saved those)."""

    def __init__(self, root: _Storage, offset: int, count: int) -> None:
        self.root, self.offset, self.count = root, offset, count
        self.dtype_name = root.dtype_name

    def flat(self, dtype_name: str) -> _C.Tensor:
        base = self.root.flat(dtype_name)
        if self.offset + self.count > base.numel():
            raise ValueError(f"a storage view [{self.offset}, {self.offset + self.count}) lies outside storage "
                             f"'{self.root.key}' of {base.numel()} elements")
        return base.narrow(0, self.offset, self.count)


class _Marker:
    """What a storage-type global unpickles to: only the persistent ids read it."""

    def __init__(self, dtype_name: str | None, text: str) -> None:
        self.dtype_name, self.text = dtype_name, text

    def __repr__(self) -> str:
        return self.text


def _check_hooks(hooks: Any) -> None:
    if hooks is not None and (not isinstance(hooks, dict) or hooks):
        raise ValueError("a tensor saved with backward hooks (dlcore restores tensors, not hooks)")


def _check_layout(storage_offset: Any, size: Any, stride: Any) -> tuple[int, tuple, tuple]:
    if not _is_count(storage_offset):
        raise ValueError(f"invalid storage offset {storage_offset!r:.60}")
    if not isinstance(size, (tuple, list)) or not all(_is_count(n) for n in size):
        raise ValueError(f"invalid tensor size {size!r:.60}")
    if not isinstance(stride, (tuple, list)) or len(stride) != len(size) or not all(_is_count(s) for s in stride):
        raise ValueError(f"invalid strides {stride!r:.60} for size {size!r:.60}")
    return storage_offset, tuple(size), tuple(stride)


# ---- the restricted unpickler ----

class _Unpickler(pickle._Unpickler):  # type: ignore[name-defined]  (the pure-Python unpickler: see above)
    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: IO[bytes], loader: "_Loader", encoding: str) -> None:
        super().__init__(file, encoding=encoding)
        self.loader = loader

    def find_class(self, module: str, name: str) -> Any:
        found = self.loader.globals_.get((module, name))
        if found is None:
            full = _DTYPE_ALIASES.get(name, _STORAGE_TYPES.get(name, name))
            if module in ("torch", "torch.cuda") and full in _DTYPES:  # harmless, but dlcore lacks the dtype
                _dtype(full)
            raise self.loader.refuse(f"{module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> Any:
        return self.loader.persistent_load(pid)

    def _build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
            state = state[0]
        # only new plain attributes of an OrderedDict (a state dict's _metadata): nothing that would
        # shadow one of its methods, nothing that calls __setstate__
        if (not isinstance(target, OrderedDict) or not isinstance(state, dict)
                or not all(isinstance(k, str) and not hasattr(OrderedDict, k) for k in state)):
            raise self.loader.refuse(f"BUILD (setting the state) of a {type(target).__name__}")
        target.__dict__.update(state)

    def _extension(self) -> None:
        raise self.loader.refuse("an EXT (copyreg extension registry) opcode")

    dispatch[pickle.BUILD[0]] = _build
    for _opcode in (pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_opcode[0]] = _extension
    del _opcode


def _encode(text: Any, encoding: str = "utf-8") -> bytes:
    # how protocol-2 pickles spell bytes objects: _codecs.encode(latin-1 text, 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise ValueError(f"_codecs.encode is admitted for str and latin1/utf-8/ascii only, got {type(text).__name__} "
                         f"and {encoding!r:.40}")
    return text.encode(encoding)


def _make_size(sizes: Any = ()) -> tuple:
    if not isinstance(sizes, (tuple, list)) or not all(_is_count(n) for n in sizes):
        raise ValueError(f"invalid torch.Size {sizes!r:.80}")
    return tuple(sizes)


def _make_device(*args: Any) -> _C.device:
    if not (1 <= len(args) <= 2 and isinstance(args[0], str) and (len(args) == 1 or _is_count(args[1]))):
        raise ValueError(f"invalid torch.device arguments {args!r:.80}")
    return _C.device(*args)


class _Loader:
    """One load: the admitted globals, the storages seen so far, where tensors go."""

    def __init__(self, name: str, placement: Placement, weights_only: bool | None) -> None:
        self.name, self.placement, self.weights_only = name, placement, weights_only
        self.big_endian = False
        self.storages: dict[str, _Storage] = {}
        self.read_storage: Callable[[str, int], Callable[[], bytes] | None] = lambda key, nbytes: None
        self.legacy = False
        self.storage_budget: int | None = None  # legacy: the bytes the storages can still claim from the file
        self.globals_: dict[tuple[str, str], Any] = {
            ("collections", "OrderedDict"): OrderedDict,
            ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor_v1,
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor_v2,
            ("torch._utils", "_rebuild_tensor_v3"): self.rebuild_tensor_v3,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self.rebuild_parameter_with_state,
            ("torch", "Size"): _make_size,
            ("torch", "device"): _make_device,
            ("_codecs", "encode"): _encode,
        }
        for module in ("builtins", "__builtin__"):
            for builtin in (set, frozenset, complex):
                self.globals_[(module, builtin.__name__)] = builtin
        for storage, dtype_name in _STORAGE_TYPES.items():
            marker = _Marker(dtype_name, f"torch.{storage}")
            self.globals_[("torch", storage)] = self.globals_[("torch.cuda", storage)] = marker
        for module in ("torch", "torch.storage"):
            self.globals_[(module, "UntypedStorage")] = _Marker(None, "torch.UntypedStorage")
        for dtype_name in list(_DTYPES) + list(_DTYPE_ALIASES):
            full = _DTYPE_ALIASES.get(dtype_name, dtype_name)
            if _DTYPES[full][1] is not None:
                self.globals_[("torch", dtype_name)] = _DTYPES[full][1]

    def refuse(self, what: str) -> UnsafeCheckpointError:
        why = ("dlcore never runs pickle code, not even with weights_only=False" if self.weights_only is False
               else "dlcore never runs pickle code")
        return UnsafeCheckpointError(
            f"load: {self.name}: refusing to load {what[:200]} from the pickle: only tensors, storages, dtypes, "
            f"devices and plain containers are admitted (torch's weights_only=True set); {why}")

    # -- storages --

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise ValueError(f"unknown persistent id {pid!r:.80}")
        if self.legacy:
            if len(pid) != 6:
                raise ValueError(f"malformed storage reference {pid!r:.120}")
            _, storage_type, key, location, numel, view = pid
        else:
            if len(pid) != 5:
                raise ValueError(f"malformed storage reference {pid!r:.120}")
            _, storage_type, key, location, numel = pid
            view = None
        if not isinstance(storage_type, _Marker) or not isinstance(key, str) or not isinstance(location, str) \
                or not _is_count(numel):
            raise ValueError(f"malformed storage reference {pid!r:.120}")
        dtype_name = storage_type.dtype_name
        nbytes = numel * _dtype(dtype_name)[0].itemsize if dtype_name is not None else numel
        storage = self.storages.get(key)
        if storage is None and self.storage_budget is not None:
            # a legacy storage is allocated before its bytes are read: its size must fit in what is left
            if nbytes > self.storage_budget:
                raise ValueError(f"storage '{key}' claims {nbytes} bytes, more than the rest of the file holds")
            self.storage_budget -= nbytes
        if storage is None:
            storage = _Storage(self, key, dtype_name, location, nbytes, self.read_storage(key, nbytes))
            self.storages[key] = storage
        elif storage.dtype_name != dtype_name or storage.nbytes != nbytes:
            raise ValueError(f"storage '{key}' is referenced with two different types or sizes")
        if view is None:
            return storage
        if not (isinstance(view, tuple) and len(view) == 3 and isinstance(view[0], str)
                and _is_count(view[1]) and _is_count(view[2])):
            raise ValueError(f"malformed storage view {view!r:.80}")
        return _StorageView(storage, view[1], view[2])

    # -- the admitted rebuild functions --

    def _tensor(self, storage: Any, dtype_name: str | None, storage_offset: Any, size: Any, stride: Any,
                requires_grad: Any) -> _C.Tensor:
        if not isinstance(storage, (_Storage, _StorageView)):
            raise ValueError(f"a tensor rebuilt from a {type(storage).__name__}, not a storage")
        if dtype_name is None:
            raise ValueError("a tensor of an untyped storage without a dtype")
        if not isinstance(requires_grad, bool):
            raise ValueError(f"invalid requires_grad {requires_grad!r:.40}")
        offset, size, stride = _check_layout(storage_offset, size, stride)
        with no_grad():
            t, is_view = _strided(storage.flat(dtype_name), offset, size, stride)
        if not is_view and self.legacy:
            root = storage.root if isinstance(storage, _StorageView) else storage
            base = storage.offset if isinstance(storage, _StorageView) else 0
            root.copies.append((t, dtype_name, base + offset, size, stride))
        if requires_grad:
            if not t.is_floating_point():
                raise ValueError(f"a {dtype_name} tensor that requires gradients")
            t.requires_grad_(True)
        return t

    def rebuild_tensor_v1(self, storage: Any, storage_offset: Any, size: Any, stride: Any) -> _C.Tensor:
        return self._tensor(storage, getattr(storage, "dtype_name", None), storage_offset, size, stride, False)

    def rebuild_tensor_v2(self, storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                          backward_hooks: Any = None, metadata: Any = None) -> _C.Tensor:
        _check_hooks(backward_hooks)
        return self._tensor(storage, getattr(storage, "dtype_name", None), storage_offset, size, stride,
                            requires_grad)

    def rebuild_tensor_v3(self, storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any,
                          backward_hooks: Any, dtype: Any, metadata: Any = None) -> _C.Tensor:
        _check_hooks(backward_hooks)
        names = {v[1]: k for k, v in _DTYPES.items() if v[1] is not None}
        if dtype not in names:
            raise ValueError(f"invalid dtype {dtype!r:.40} for a tensor")
        return self._tensor(storage, names[dtype], storage_offset, size, stride, requires_grad)

    def rebuild_parameter(self, data: Any, requires_grad: Any, backward_hooks: Any) -> _C.Parameter:
        _check_hooks(backward_hooks)
        if not isinstance(data, _C.Tensor) or not isinstance(requires_grad, bool):
            raise ValueError("a Parameter rebuilt from something other than a tensor")
        return _C.Parameter(data.detach(), requires_grad)

    def rebuild_parameter_with_state(self, data: Any, requires_grad: Any, backward_hooks: Any,
                                     state: Any) -> _C.Parameter:
        if state:
            names = sorted(state)[:5] if isinstance(state, dict) else type(state).__name__
            warnings.warn(f"load: {self.name}: a Parameter's Python attributes {names} are not restored "
                          f"(dlcore Parameters carry none)", stacklevel=2)
        return self.rebuild_parameter(data, requires_grad, backward_hooks)

    def unpickle(self, f: IO[bytes], encoding: str) -> Any:
        return _Unpickler(f, self, encoding).load()


_MALFORMED = (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
              OverflowError, RecursionError, MemoryError, struct.error, zipfile.BadZipFile, zipfile.LargeZipFile,
              zlib.error, NotImplementedError, RuntimeError, OSError)


def _guarded(name: str, what: str, work: Callable[[], Any]) -> Any:
    """Runs ``work``; a malformed file's error of any kind becomes one ValueError naming the file, while
    refusals and map_location's own errors pass through unchanged."""
    try:
        return work()
    except (UnsafeCheckpointError, PlacementFailed):
        raise
    except _MALFORMED as error:
        message = str(error)[:300]
        if type(error) is not ValueError or not message:  # a bare KeyError says only the key
            message = f"{type(error).__name__}: {message}" if message else type(error).__name__
        raise ValueError(f"load: {name}: corrupted or unsupported {what}: {message}") from None


# ---- the zip layout ----

def load_zip(f: IO[bytes], name: str, placement: Placement, encoding: str, weights_only: bool | None) -> Any:
    """A ``torch.save`` zip archive (torch >= 1.6) from the seekable ``f``."""
    loader = _Loader(name, placement, weights_only)

    def work() -> Any:
        with zipfile.ZipFile(f) as archive:
            names = archive.namelist()
            pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") <= 1
                       and n.rpartition("/")[2] == "data.pkl"]
            if len(pickles) != 1:
                if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
                    raise ValueError("a TorchScript archive (torch.jit.save); dlcore reads torch.save files only")
                raise ValueError(f"not a torch.save archive: expected one data.pkl, found {len(pickles)}")
            prefix = pickles[0][:-len("data.pkl")]
            if prefix + "byteorder" in names:
                order = archive.read(prefix + "byteorder").decode("ascii", "replace")
                if order not in ("little", "big"):
                    raise ValueError(f"unknown byteorder {order[:20]!r}")
                loader.big_endian = order == "big"

            def read_storage(key: str, nbytes: int) -> Callable[[], bytes]:
                record = f"{prefix}data/{key}"
                try:
                    info = archive.getinfo(record)
                except KeyError:
                    raise ValueError(f"storage '{key}' has no record {record!r} in the archive") from None
                if info.file_size != nbytes:
                    raise ValueError(f"storage '{key}' needs {nbytes} bytes, its record holds {info.file_size}")
                return lambda: archive.read(info)
            loader.read_storage = read_storage
            info = archive.getinfo(pickles[0])
            if info.file_size > _MAX_PICKLE_BYTES:
                raise ValueError(f"data.pkl is {info.file_size} bytes, more than any checkpoint's structure needs")
            return loader.unpickle(io.BytesIO(archive.read(info)), encoding)

    return _guarded(name, "torch checkpoint", work)


# ---- the legacy layout ----

class _Bounded:
    """A file's next ``size`` bytes: reads never ask the file for more than is there (so a length in
    a crafted pickle cannot make a read allocate beyond the file)."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        self.f, self.left = f, size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data

    def readline(self) -> bytes:
        data = self.f.readline(self.left)
        self.left -= len(data)
        return data


def load_legacy(f: IO[bytes], name: str, placement: Placement, encoding: str, weights_only: bool | None) -> Any:
    """A ``torch.save(..., _use_new_zipfile_serialization=False)`` stream from the seekable ``f``."""
    loader = _Loader(name, placement, weights_only)
    loader.legacy = True
    size = remaining_bytes(f)
    stream = _Bounded(f, size if size is not None else 1 << 62)
    loader.storage_budget = size if size is not None else 1 << 62

    def work() -> Any:
        magic = loader.unpickle(stream, encoding)
        if magic != _LEGACY_MAGIC:
            raise ValueError("not a torch file: wrong magic number")
        protocol = loader.unpickle(stream, encoding)
        if protocol != _LEGACY_PROTOCOL:
            raise ValueError(f"unsupported legacy protocol version {protocol!r:.40}")
        info = loader.unpickle(stream, encoding)
        if not isinstance(info, dict):
            raise ValueError("malformed system information")
        little = info.get("little_endian", True)
        if not isinstance(little, bool):
            raise ValueError("malformed system information")
        loader.big_endian = not little
        result = loader.unpickle(stream, encoding)
        keys = loader.unpickle(stream, encoding)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("malformed storage key list")
        for key in keys:
            storage = loader.storages.get(key)
            if storage is None:
                raise ValueError(f"storage '{key}' is listed but no tensor uses it")
            itemsize = _dtype(storage.dtype_name)[0].itemsize if storage.dtype_name else 1
            header = stream.read(8)
            if len(header) != 8:
                raise ValueError(f"truncated before storage '{key}'")
            count = int.from_bytes(header, "little" if little else "big")
            if count * itemsize != storage.nbytes:
                raise ValueError(f"storage '{key}' holds {count} elements, the pickle says "
                                 f"{storage.nbytes // itemsize}")
            data = stream.read(storage.nbytes)
            if len(data) != storage.nbytes:
                raise ValueError(f"truncated inside storage '{key}'")
            storage.fill(data)
        return result

    return _guarded(name, "legacy torch checkpoint", work)


def load(f: IO[bytes], kind: str, name: str, placement: Placement, encoding: str, weights_only: bool | None) -> Any:
    """Reads a torch file of layout ``kind`` (from ``sniff``)."""
    if kind == "zip":
        return load_zip(f, name, placement, encoding, weights_only)
    if kind == "legacy":
        return load_legacy(f, name, placement, encoding, weights_only)
    raise ValueError(f"load: {name}: a torch checkpoint in the tar layout of torch before 0.4, which dlcore does "
                     f"not read; load and re-save it with torch.save to get the zip layout")


__all__ = ["UnsafeCheckpointError", "sniff", "load", "load_zip", "load_legacy", "strided_view"]
