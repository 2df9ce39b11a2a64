# Tests for dlcore's own safetensors reader/writer: exact round trips of every dtype and the
# metadata, atomic replacement when a save dies half-way, rejection of corrupted files with a
# ValueError naming the file, and byte-level interoperability with the `safetensors` package if present.
import json
import os

import numpy as np
import pytest

from dlcore import safetensors_format

DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
          np.uint64, np.uint32, np.uint16, np.uint8, np.bool_]


def random_arrays(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {}
    for index, dtype in enumerate(DTYPES):
        shape = tuple(int(d) for d in rng.integers(1, 5, size=index % 4))  # includes a 0-d scalar
        if dtype == np.bool_:
            arrays[f"t{index}.bool"] = rng.random(shape) > 0.5
        elif np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            arrays[f"t{index}.{np.dtype(dtype).name}"] = rng.integers(info.min, info.max, shape, dtype=dtype,
                                                                     endpoint=True)
        else:
            arrays[f"t{index}.{np.dtype(dtype).name}"] = rng.standard_normal(shape).astype(dtype)
    arrays["empty"] = np.zeros((0, 3), np.float32)
    arrays["conv1.weight"] = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    return arrays


def header_of(path) -> tuple[int, dict]:
    blob = path.read_bytes()
    length = int.from_bytes(blob[:8], "little")
    return length, json.loads(blob[8:8 + length])


def rewrite_header(path, header: dict) -> None:
    blob = path.read_bytes()
    length = int.from_bytes(blob[:8], "little")
    encoded = json.dumps(header).encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + blob[8 + length:])


def test_round_trip_every_dtype_and_metadata(tmp_path):
    arrays = random_arrays(seed=0)
    metadata = {"epoch": "3", "format": "dlcore", "note": "ünïcode ✓"}
    path = tmp_path / "model.safetensors"
    safetensors_format.save_file(path, arrays, metadata)
    loaded, loaded_metadata = safetensors_format.load_file(path)
    assert loaded_metadata == metadata
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype, name
        assert loaded[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].flags["C_CONTIGUOUS"] and loaded[name].flags["WRITEABLE"]
    length, header = header_of(path)
    assert (8 + length) % 8 == 0  # tensor data starts aligned, as the reference writer does
    assert header["conv1.weight"]["dtype"] == "F32" and header["t11.bool"]["dtype"] == "BOOL"


def test_non_contiguous_and_big_endian_inputs(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    arrays = {"transposed": base.T, "strided": base[:, ::2], "big_endian": base.astype(">f4")}
    path = tmp_path / "x.safetensors"
    safetensors_format.save_file(path, arrays)
    loaded, metadata = safetensors_format.load_file(path)
    assert metadata == {}
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
    # bytes on disk are little-endian whatever the input order was
    blob = path.read_bytes()
    length, header = header_of(path)
    begin = 8 + length + header["big_endian"]["data_offsets"][0]
    np.testing.assert_array_equal(np.frombuffer(blob[begin:begin + 96], "<f4").reshape(4, 6), base)


def test_bad_arguments(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(ValueError, match="'z'.*complex"):
        safetensors_format.save_file(path, {"z": np.zeros(2, np.complex64)})
    with pytest.raises(ValueError, match="metadata"):
        safetensors_format.save_file(path, {"a": np.zeros(2)}, {"epoch": 3})
    with pytest.raises(ValueError, match="__metadata__"):
        safetensors_format.save_file(path, {"__metadata__": np.zeros(2)})
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_interrupted_save_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.safetensors"
    old = {"w": np.arange(10, dtype=np.float32)}
    safetensors_format.save_file(path, old, {"epoch": "1"})
    old_bytes = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated crash during fsync")
    monkeypatch.setattr(safetensors_format.os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        safetensors_format.save_file(path, {"w": np.ones(1000, np.float32)}, {"epoch": "2"})
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.safetensors"]  # no temp file left behind
    arrays, metadata = safetensors_format.load_file(path)
    np.testing.assert_array_equal(arrays["w"], old["w"])
    assert metadata == {"epoch": "1"}


def test_partial_write_is_never_visible(tmp_path, monkeypatch):
    """The data is written to a temp file and renamed; a crash mid-write never touches `path`."""
    path = tmp_path / "c.safetensors"
    safetensors_format.save_file(path, {"a": np.zeros(3)})
    before = path.read_bytes()
    real_replace = os.replace
    seen = []

    def checking_replace(source, destination):
        seen.append(source)
        assert path.read_bytes() == before  # untouched until the very last step
        real_replace(source, destination)
    monkeypatch.setattr(safetensors_format.os, "replace", checking_replace)
    safetensors_format.save_file(path, {"a": np.ones(3)})
    assert len(seen) == 1 and os.path.dirname(seen[0]) == str(tmp_path)
    np.testing.assert_array_equal(safetensors_format.load_file(path)[0]["a"], np.ones(3))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "ok.safetensors"
    safetensors_format.save_file(path, {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                                        "b": np.arange(4, dtype=np.int64)}, {"k": "v"})
    return path


def test_truncated_files(saved):
    blob = saved.read_bytes()
    for cut in (0, 5, 8, 20, len(blob) - 1):
        saved.write_bytes(blob[:cut])
        with pytest.raises(ValueError, match="ok.safetensors"):
            safetensors_format.load_file(saved)


def test_trailing_garbage(saved):
    saved.write_bytes(saved.read_bytes() + b"\x00" * 4)
    with pytest.raises(ValueError, match="need 56 data bytes, the file holds 60"):
        safetensors_format.load_file(saved)


def test_bad_json(saved):
    blob = bytearray(saved.read_bytes())
    blob[8] = ord("[")  # the header is no longer a JSON object
    saved.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="ok.safetensors.*JSON"):
        safetensors_format.load_file(saved)
    blob[8:12] = b"\xff\xfe\xfd\xfc"
    saved.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="not valid JSON"):
        safetensors_format.load_file(saved)


def test_huge_header_length(saved):
    blob = saved.read_bytes()
    saved.write_bytes((2**63).to_bytes(8, "little") + blob[8:])
    with pytest.raises(ValueError, match="header length"):
        safetensors_format.load_file(saved)


@pytest.mark.parametrize("mutate, message", [
    (lambda h: h["b"].update(data_offsets=[16, 48]), "overlaps"),
    (lambda h: h["b"].update(data_offsets=[24, 48]), "needs 32 bytes"),
    (lambda h: h["a"].update(shape=[3, 3]), "needs 36 bytes"),
    (lambda h: h["a"].update(dtype="F8"), "unsupported dtype"),
    (lambda h: h["a"].update(shape=[2, -3]), "invalid shape"),
    (lambda h: h["a"].update(data_offsets=[24, 0]), "invalid data_offsets"),
    (lambda h: h["a"].update(data_offsets=[0]), "invalid data_offsets"),
    (lambda h: h.update(__metadata__={"k": 1}), "__metadata__"),
    (lambda h: h.update(c="oops"), "'c'"),
])
def test_corrupted_headers(saved, mutate, message):
    _, header = header_of(saved)
    mutate(header)
    rewrite_header(saved, header)
    with pytest.raises(ValueError, match=message):
        safetensors_format.load_file(saved)


def test_gap_between_tensors(saved):
    _, header = header_of(saved)
    header["b"]["data_offsets"] = [28, 60]
    rewrite_header(saved, header)
    saved.write_bytes(saved.read_bytes() + b"\x00" * 4)
    with pytest.raises(ValueError, match="gap"):
        safetensors_format.load_file(saved)


def test_duplicate_keys_and_bad_bool(tmp_path):
    path = tmp_path / "dup.safetensors"
    entry = b'{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'
    encoded = b'{"a":' + entry + b',"a":' + entry + b'}'
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + b"\x01")
    with pytest.raises(ValueError, match="duplicate key 'a'"):
        safetensors_format.load_file(path)
    encoded = b'{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}'
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + b"\x01\x07")
    with pytest.raises(ValueError, match="BOOL"):
        safetensors_format.load_file(path)


def test_interoperates_with_the_safetensors_package(tmp_path):
    reference = pytest.importorskip("safetensors.numpy")
    arrays = random_arrays(seed=1)
    ours = tmp_path / "ours.safetensors"
    safetensors_format.save_file(ours, arrays, {"who": "dlcore"})
    theirs_loaded = reference.load_file(str(ours))
    for name, array in arrays.items():
        np.testing.assert_array_equal(theirs_loaded[name], array)
    theirs = tmp_path / "theirs.safetensors"
    reference.save_file(arrays, str(theirs), metadata={"who": "safetensors"})
    loaded, metadata = safetensors_format.load_file(theirs)
    assert metadata == {"who": "safetensors"}
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)
