# The safetensors checkpoint format, implemented with numpy + stdlib so dlcore needs no extra
# package and never unpickles a checkpoint. Files interoperate with the `safetensors` library:
# 8-byte little-endian header length, JSON header, then the raw little-endian tensor bytes.
from __future__ import annotations

import json
import os
import pathlib
import tempfile

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


def save_file(path: str | os.PathLike, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write `arrays` (+ string `metadata`) to `path` atomically: temp file, fsync, os.replace."""
    path = pathlib.Path(path)
    header, payloads = _build_header(arrays, metadata)
    directory = path.parent if str(path.parent) else pathlib.Path(".")
    handle, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(len(header).to_bytes(8, "little"))
            out.write(header)
            for payload in payloads:
                out.write(payload.reshape(-1).view(np.uint8).data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp creates 0600; a checkpoint is an ordinary file
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


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in header")
        result[key] = value
    return result


def _parse_header(path: pathlib.Path, raw: bytes) -> dict[str, object]:
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: corrupted safetensors header: not valid JSON ({error})") from error
    except ValueError as error:
        raise ValueError(f"{path}: corrupted safetensors header: {error}") from error
    if not isinstance(header, dict):
        raise ValueError(f"{path}: corrupted safetensors header: expected a JSON object")
    return header


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def load_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file into (name -> array, metadata), validating every field and size.

    Arrays are independent, writable, C-contiguous copies in native byte order. A truncated or
    corrupted file raises ValueError naming the file and what is wrong.
    """
    path = pathlib.Path(path)
    blob = path.read_bytes()
    if len(blob) < 8:
        raise ValueError(f"{path}: truncated safetensors file: {len(blob)} bytes, need at least 8")
    header_length = int.from_bytes(blob[:8], "little")
    if header_length == 0 or header_length > _MAX_HEADER_BYTES or 8 + header_length > len(blob):
        raise ValueError(f"{path}: corrupted or truncated safetensors file: header length {header_length} "
                         f"does not fit in a file of {len(blob)} bytes")
    header = _parse_header(path, blob[8:8 + header_length])
    data = memoryview(blob)[8 + header_length:]

    metadata = header.pop(_METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise ValueError(f"{path}: corrupted safetensors header: __metadata__ must map str to str")

    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise ValueError(f"{path}: tensor '{name}': header entry is not an object")
        dtype_name, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype_name not in _DTYPES:
            raise ValueError(f"{path}: tensor '{name}': unsupported dtype {dtype_name!r}")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise ValueError(f"{path}: tensor '{name}': invalid shape {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets)
                or offsets[0] > offsets[1]):
            raise ValueError(f"{path}: tensor '{name}': invalid data_offsets {offsets!r}")
        expected = int(np.prod(shape, dtype=np.int64)) * _DTYPES[dtype_name].itemsize
        if offsets[1] - offsets[0] != expected:
            raise ValueError(f"{path}: tensor '{name}': {dtype_name} {shape} needs {expected} bytes, "
                             f"data_offsets {offsets} span {offsets[1] - offsets[0]}")
        entries.append((offsets[0], offsets[1], name, dtype_name, shape))

    # The tensors must tile the data section exactly: no gaps, no overlaps, nothing past the end.
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    position = 0
    for begin, end, name, _, _ in entries:
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else "leaves a gap before it"
            raise ValueError(f"{path}: tensor '{name}': data_offsets [{begin}, {end}] {problem} "
                             f"(expected to start at {position})")
        position = end
    if position != len(data):
        raise ValueError(f"{path}: corrupted or truncated safetensors file: tensors need {position} data "
                         f"bytes, the file holds {len(data)}")

    arrays: dict[str, np.ndarray] = {}
    for begin, end, name, dtype_name, shape in entries:
        stored = np.frombuffer(data[begin:end], dtype=_DTYPES[dtype_name]).reshape(shape)
        if dtype_name == "BOOL" and stored.size and stored.view(np.uint8).max() > 1:
            raise ValueError(f"{path}: tensor '{name}': BOOL bytes must be 0 or 1")
        arrays[name] = stored.astype(stored.dtype.newbyteorder("="), copy=True)
    ordered = {name: arrays[name] for name in header}  # keep the header's order, as the writer gave it
    return ordered, dict(metadata)
