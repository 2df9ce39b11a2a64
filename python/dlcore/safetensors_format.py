# The safetensors checkpoint format, implemented with numpy + stdlib so dlcore needs no extra
# package and never unpickles a checkpoint. Files interoperate with the `safetensors` library:
# 8-byte little-endian header length, JSON header, then the raw little-endian tensor bytes.
# Reading never trusts the file: only regular files (or file objects) are read, the header is
# bounded, and every malformed field raises ValueError naming the file. Writing to a path is
# atomic (temp file, fsync, rename) and removes temp files that killed saves left behind.
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pathlib
import re
import secrets
import socket
import stat
import time
from typing import IO, Any, Union

import numpy as np

# safetensors dtype name -> little-endian numpy dtype. numpy has no bfloat16: BF16 arrays are the raw
# 16-bit patterns in a one-field structured dtype (BF16_DTYPE), which serialization converts.
_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"), "BF16": np.dtype([("bf16", "<u2")]),
}
_NAME_OF_KIND = {(dtype.kind, dtype.itemsize): name for name, dtype in _DTYPES.items()}
BF16_DTYPE = _DTYPES["BF16"]
_METADATA_KEY = "__metadata__"
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # the reference implementation's limit too
_HEADER_ALIGNMENT = 8  # pad the header so tensor data starts 8-byte aligned, as the reference does
_CHUNK_BYTES = 64 * 1024 * 1024  # reads from streams of unknown length grow by this much at a time

# Temp files are `.{target}.{pid}-{host}.{random}.tmp`, next to the target. A temp file is stale (a
# save that was killed) when its writer's PID is dead on this host, or when nobody has written to
# it for _STALE_AFTER_SECONDS (a live save writes continuously, so an hour of silence means it is
# gone, whatever the PID says: PIDs are reused, and another host's PIDs cannot be checked).
# dlcore before this scheme wrote `.{target}.{8 random chars}.tmp` (tempfile.mkstemp): those carry
# no PID, so only the age rule applies to them.
_STALE_AFTER_SECONDS = 3600.0

Target = Union[str, "os.PathLike[str]", IO[bytes]]


def _dtype_name(name: str, array: np.ndarray) -> str:
    dtype_name = _NAME_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if dtype_name is None:
        raise ValueError(f"save_file: tensor '{name}' has dtype {array.dtype}, which safetensors cannot "
                         f"store (supported: {', '.join(_DTYPES)})")
    return dtype_name


def _build_header(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None) -> tuple[bytes, list[np.ndarray]]:
    header: dict[str, object] = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(f"save_file: metadata must map str to str, got {key!r}: {type(value).__name__}")
        header[_METADATA_KEY] = dict(metadata)
    payloads: list[np.ndarray] = []
    offset = 0
    for name, value in arrays.items():
        if not isinstance(name, str) or name == _METADATA_KEY:
            raise ValueError(f"save_file: invalid tensor name {name!r}")
        array = np.asarray(value)
        dtype_name = _dtype_name(name, array)
        little_endian = np.ascontiguousarray(array, dtype=_DTYPES[dtype_name])
        header[name] = {"dtype": dtype_name, "shape": list(array.shape),
                        "data_offsets": [offset, offset + little_endian.nbytes]}
        offset += little_endian.nbytes
        payloads.append(little_endian)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-(8 + len(encoded)) % _HEADER_ALIGNMENT)
    return encoded, payloads


def _write(out: IO[bytes], header: bytes, payloads: list[np.ndarray]) -> None:
    out.write(len(header).to_bytes(8, "little"))
    out.write(header)
    for payload in payloads:
        if payload.nbytes:
            out.write(payload.reshape(-1).view(np.uint8).data)


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _writer_is_alive(pid: int, host: str) -> bool:
    """Whether the process that named a temp file may still be writing it (True when unsure)."""
    if host != _host_tag() or os.name != "posix":
        return True  # another machine's PID (or no kill(pid, 0)): only the age rule can tell
    if pid == os.getpid():
        return True  # another thread of this process may be saving to the same path right now
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists under another user, or a PID we cannot ask about
    return True


def remove_stale_temporaries(path: str | os.PathLike, now: float | None = None) -> list[pathlib.Path]:
    """Deletes the temp files that killed saves to ``path`` left behind; returns what it removed.

    Only names this module writes for this very target are considered (see _STALE_AFTER_SECONDS for
    when one counts as stale); anything else in the directory is left alone. Best effort: a file
    that cannot be examined or removed is skipped.
    """
    path = pathlib.Path(path)
    directory = path.parent if str(path.parent) else pathlib.Path(".")
    escaped = re.escape(path.name)
    with_writer = re.compile(rf"\.{escaped}\.(\d{{1,10}})-([0-9a-f]{{8}})\.[0-9a-f]{{8}}\.tmp")
    from_mkstemp = re.compile(rf"\.{escaped}\.[a-z0-9_]{{8}}\.tmp")
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = with_writer.fullmatch(entry.name)
        if match is None and from_mkstemp.fullmatch(entry.name) is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            stale = now - info.st_mtime > _STALE_AFTER_SECONDS
            if not stale and match is not None:
                stale = not _writer_is_alive(int(match.group(1)), match.group(2))
            if stale:
                os.unlink(entry.path)
                removed.append(pathlib.Path(entry.path))
        except OSError:
            continue
    return removed


def _create_temporary(directory: pathlib.Path, name: str) -> tuple[int, str]:
    prefix = f".{name}.{os.getpid()}-{_host_tag()}."
    while True:
        temp_name = str(directory / f"{prefix}{secrets.token_hex(4)}.tmp")
        try:  # O_EXCL: never reuse a name another save holds; 0o666 & ~umask, like any new file
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(temp_name, flags, 0o666), temp_name
        except FileExistsError:
            continue


def save_file(target: Target, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write ``arrays`` (+ string ``metadata``) to ``target``: a path, written atomically (temp file,
    fsync, os.replace; stale temp files of earlier killed saves to that path are removed first), or a
    writable binary file object, written at its current position."""
    header, payloads = _build_header(arrays, metadata)
    if hasattr(target, "write") and not isinstance(target, (str, os.PathLike)):
        _write(target, header, payloads)
        return
    path = pathlib.Path(target)
    directory = path.parent if str(path.parent) else pathlib.Path(".")
    remove_stale_temporaries(path)  # before writing: a killed save's temp file may hold the disk space we need
    handle, temp_name = _create_temporary(directory, path.name)
    try:
        with os.fdopen(handle, "wb") as out:
            _write(out, header, payloads)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not every platform lets us open a directory
        directory_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory_fd)
    except OSError:
        pass
    finally:
        os.close(directory_fd)


def open_for_reading(path: str | os.PathLike) -> IO[bytes]:
    """Opens ``path`` for reading if it is a regular file; devices, FIFOs and sockets raise ValueError.

    The type is checked before opening (opening a FIFO would block) and again on the opened
    descriptor, so a file swapped in between is caught too.
    """
    info = os.stat(path)  # FileNotFoundError / PermissionError as open() would raise them
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(f"load: {path} is a directory, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"load: {path} is not a regular file (a device, FIFO or socket); "
                         f"checkpoints are read from regular files or file objects only")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"load: {path} is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def source_name(source: Any) -> str:
    """How errors name a checkpoint: its path, a file object's name, or '<file object>'."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    name = getattr(source, "name", None)
    return str(name) if isinstance(name, (str, bytes, os.PathLike)) else "<file object>"


def remaining_bytes(f: IO[bytes]) -> int | None:
    """Bytes from the current position to the end of a seekable file object, else None."""
    try:
        if not f.seekable():
            return None
        position = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(position)
        return end - position
    except (OSError, ValueError, AttributeError):
        return None


def read_up_to(f: IO[bytes], count: int) -> bytes:
    """At most ``count`` bytes, in chunks, so that a stream that lies about its length (or never ends)
    costs only what actually arrives."""
    parts, got = [], 0
    while got < count:
        part = f.read(min(_CHUNK_BYTES, count - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in header")
        result[key] = value
    return result


def _parse_header(name: str, raw: bytes) -> dict[str, object]:
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{name}: corrupted safetensors header: not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError(f"{name}: corrupted safetensors header: JSON nested too deeply") from None
    except ValueError as error:  # duplicate keys, integers too long to convert
        raise ValueError(f"{name}: corrupted safetensors header: {error}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name}: corrupted safetensors header: expected a JSON object")
    return header


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _validated_entries(name: str, header: dict[str, object]) -> tuple[list[tuple], int]:
    """The tensors' (begin, end, name, dtype, shape) sorted by offset, and the data bytes they need."""
    entries = []
    for tensor, info in header.items():
        if not isinstance(info, dict):
            raise ValueError(f"{name}: tensor '{tensor}': header entry is not an object")
        dtype_name, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype_name, str) or dtype_name not in _DTYPES:
            raise ValueError(f"{name}: tensor '{tensor}': unsupported dtype {dtype_name!r}")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise ValueError(f"{name}: tensor '{tensor}': invalid shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets)
                or offsets[0] > offsets[1]):
            raise ValueError(f"{name}: tensor '{tensor}': invalid data_offsets {offsets!r}")
        expected = math.prod(shape) * _DTYPES[dtype_name].itemsize  # Python ints: no overflow
        if offsets[1] - offsets[0] != expected:
            raise ValueError(f"{name}: tensor '{tensor}': {dtype_name} {shape} needs {expected} bytes, "
                             f"data_offsets {offsets} span {offsets[1] - offsets[0]}")
        entries.append((offsets[0], offsets[1], tensor, dtype_name, shape))

    # The tensors must tile the data section exactly: no gaps, no overlaps.
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    position = 0
    for begin, end, tensor, _, _ in entries:
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else "leaves a gap before it"
            raise ValueError(f"{name}: tensor '{tensor}': data_offsets [{begin}, {end}] {problem} "
                             f"(expected to start at {position})")
        position = end
    return entries, position


def _check_bool(name: str, tensor: str, dtype_name: str, array: np.ndarray) -> None:
    if dtype_name == "BOOL" and array.size and array.view(np.uint8).max() > 1:
        raise ValueError(f"{name}: tensor '{tensor}': BOOL bytes must be 0 or 1")


def _fill(f: IO[bytes], view: memoryview) -> int:
    """Reads into ``view`` until it is full or the file ends; returns the bytes read."""
    got = 0
    readinto = getattr(f, "readinto", None)
    while got < len(view):
        if readinto is not None:
            count = readinto(view[got:])
        else:
            chunk = f.read(min(_CHUNK_BYTES, len(view) - got))
            count = len(chunk)
            view[got:got + count] = chunk
        if not count:
            break
        got += count
    return got


def _native(array: np.ndarray) -> np.ndarray:
    native = array.dtype.newbyteorder("=")
    return array if array.dtype == native else array.astype(native)


def load_file(source: str | os.PathLike | IO[bytes], *, name: str | None = None,
              ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file into (name -> array, metadata), validating every field and size.

    ``source`` is a path (a regular file: anything else raises ValueError) or a readable binary file
    object, read from its current position (``name`` says how errors call it).
    Arrays are independent, writable, C-contiguous copies in native byte order. A truncated or
    corrupted file raises ValueError naming the file and what is wrong.
    """
    if isinstance(source, (str, os.PathLike)):
        with open_for_reading(source) as f:
            return _load(f, str(source))
    return _load(source, name or source_name(source))


def _load(f: IO[bytes], name: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    available = remaining_bytes(f)
    prefix = read_up_to(f, 8)
    if len(prefix) < 8:
        raise ValueError(f"{name}: truncated safetensors file: {len(prefix)} bytes, need at least 8")
    header_length = int.from_bytes(prefix, "little")
    fits = available is None or 8 + header_length <= available
    if header_length == 0 or header_length > _MAX_HEADER_BYTES or not fits:
        size = f"a file of {available} bytes" if available is not None else "the file"
        limit = " (the limit is 100 MB)" if header_length > _MAX_HEADER_BYTES else ""
        raise ValueError(f"{name}: corrupted or truncated safetensors file: header length {header_length}{limit} "
                         f"does not fit in {size}")
    raw = read_up_to(f, header_length)
    if len(raw) < header_length:
        raise ValueError(f"{name}: truncated safetensors file: header length {header_length} does not fit "
                         f"in a file of {8 + len(raw)} bytes")
    header = _parse_header(name, raw)

    metadata = header.pop(_METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise ValueError(f"{name}: corrupted safetensors header: __metadata__ must map str to str")
    entries, needed = _validated_entries(name, header)

    arrays: dict[str, np.ndarray] = {}
    if available is not None:
        holds = available - 8 - header_length
        if holds != needed:
            raise ValueError(f"{name}: corrupted or truncated safetensors file: tensors need {needed} data "
                             f"bytes, the file holds {holds}")
        for begin, end, tensor, dtype_name, shape in entries:
            # read straight into the array (the tensors tile the data in this order): one copy in memory
            array = np.empty(shape, dtype=_DTYPES[dtype_name])
            view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else None
            if view is not None and _fill(f, view) != end - begin:
                raise ValueError(f"{name}: truncated safetensors file while reading tensor '{tensor}'")
            array = _native(array)
            _check_bool(name, tensor, dtype_name, array)
            arrays[tensor] = array
    else:
        data = read_up_to(f, needed + 1)
        if len(data) != needed:
            raise ValueError(f"{name}: corrupted or truncated safetensors file: tensors need {needed} data "
                             f"bytes, the file holds {len(data) if len(data) < needed else 'more'}")
        for begin, end, tensor, dtype_name, shape in entries:
            stored = np.frombuffer(data, dtype=_DTYPES[dtype_name], count=math.prod(shape), offset=begin)
            array = stored.reshape(shape).astype(stored.dtype.newbyteorder("="), copy=True)
            _check_bool(name, tensor, dtype_name, array)
            arrays[tensor] = array
    ordered = {tensor: arrays[tensor] for tensor in header}  # keep the header's order, as the writer gave it
    return ordered, dict(metadata)
