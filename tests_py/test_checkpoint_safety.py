# Checkpoints never lose data and never trust a file: keys that spell the same path keep their own
# tensors, format-1 files written by earlier dlcore still load, temp files of killed saves are
# cleaned up (and only those), non-regular files and oversized headers are refused at once, and
# every malformed header or structure (hand-picked cases and a seeded fuzz) raises ValueError
# naming the file, never KeyError/TypeError/RecursionError/....
import json
import os
import pathlib
import signal
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import dlcore as dl
from dlcore import safetensors_format

REPO_PYTHON = str(pathlib.Path(__file__).resolve().parent.parent / "python")


def header_and_data(blob: bytes) -> tuple[dict, bytes]:
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + length]), blob[8 + length:]


def with_header(header: dict | str, data: bytes) -> bytes:
    encoded = (header if isinstance(header, str) else json.dumps(header)).encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(encoded)) + encoded + data


def tensor_names(path) -> list[str]:
    header, _ = header_and_data(pathlib.Path(path).read_bytes())
    return [k for k in header if k != "__metadata__"]


# ---- tensor names are injective ----

def test_keys_that_spell_the_same_path_keep_their_own_tensors(tmp_path):
    values = iter(range(1, 100))

    def t():
        return dl.full([2], float(next(values)))
    obj = {"a/b": t(), "a": {"b": t(), "~1": t(), "/": t()}, "0": t(), 0: t(), -1: t(), "-1": t(), "": t(),
           "~s": t(), "__metadata__": t(), "tensor": t(), "list": [t(), {"0": t(), 0: t()}], 2.5: t(), None: t(),
           True: t(), "True": t()}  # (False would be the key 0 again)
    path = tmp_path / "collide.safetensors"
    dl.save(obj, path)
    assert len(tensor_names(path)) == 19  # one stored tensor per saved tensor: nothing overwritten
    back = dl.load(path)

    def compare(saved, loaded):
        if isinstance(saved, dl.Tensor):
            np.testing.assert_array_equal(loaded.numpy(), saved.numpy())
        elif isinstance(saved, dict):
            assert list(loaded) == list(saved)  # key types survive: 0 and "0", None, True, 2.5
            assert [type(k) for k in loaded] == [type(k) for k in saved]
            for key in saved:
                compare(saved[key], loaded[key])
        else:
            assert type(loaded) is type(saved) and len(loaded) == len(saved)
            for s, l in zip(saved, loaded):
                compare(s, l)
    compare(obj, back)


def test_a_state_dict_keeps_readable_tensor_names(tmp_path):
    model = dl.nn.Sequential(dl.nn.Linear(2, 3), dl.nn.ReLU(), dl.nn.Linear(3, 1))
    path = tmp_path / "names.safetensors"
    dl.save({"model": model.state_dict(), "0": dl.ones(1)}, path)
    assert tensor_names(path) == ["model/0.weight", "model/0.bias", "model/2.weight", "model/2.bias", "~s0"]


def write_format_1(path, arrays: dict, structure, version: str = "1") -> None:
    """A checkpoint laid out exactly as dlcore's format-1 writer did (names joined by '/', int keys
    as their digits), written directly so that the test needs no old binary."""
    safetensors_format.save_file(path, arrays, {"dlcore.format": version, "dlcore.structure": json.dumps(structure)})


def test_format_1_checkpoints_still_load(tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((3, 2)).astype(np.float32)
    exp_avg = rng.standard_normal(3).astype(np.float32)
    arrays = {"model/0.weight": weight, "optimizer/state/0/exp_avg": exp_avg,
              "optimizer/state/0/step": np.array(4.0, np.float32), "history/1": np.arange(3, dtype=np.int64)}
    structure = {"__dict__": {
        "str:model": {"__dict__": {"str:0.weight": {"__tensor__": "model/0.weight"}}},
        "str:optimizer": {"__dict__": {
            "str:state": {"__dict__": {"int:0": {"__dict__": {
                "str:exp_avg": {"__tensor__": "optimizer/state/0/exp_avg"},
                "str:step": {"__tensor__": "optimizer/state/0/step"}}}}},
            "str:param_groups": {"__list__": [{"__dict__": {"str:lr": 0.01, "str:betas": {"__tuple__": [0.9, 0.999]},
                                                           "str:params": {"__list__": [0]}}}]}}},
        "str:history": {"__list__": [None, {"__tensor__": "history/1"}, "done"]},
        "str:epoch": 3, "bool:True": "format 1 wrote bool keys as their text"}}
    path = tmp_path / "old.safetensors"
    write_format_1(path, arrays, structure)
    back = dl.load(path)
    np.testing.assert_array_equal(back["model"]["0.weight"].numpy(), weight)
    np.testing.assert_array_equal(back["optimizer"]["state"][0]["exp_avg"].numpy(), exp_avg)
    assert back["optimizer"]["state"][0]["step"].shape == () and back["optimizer"]["state"][0]["step"].item() == 4.0
    assert back["optimizer"]["param_groups"] == [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0]}]
    assert back["history"][0] is None and back["history"][2] == "done"
    np.testing.assert_array_equal(back["history"][1].numpy(), np.arange(3))
    assert back["epoch"] == 3 and back["True"] == "format 1 wrote bool keys as their text"
    # a format-1 root tensor, and an optimizer restored from an old checkpoint
    write_format_1(tmp_path / "root.safetensors", {"tensor": weight}, {"__tensor__": "tensor"})
    np.testing.assert_array_equal(dl.load(tmp_path / "root.safetensors").numpy(), weight)


def test_a_newer_format_is_refused_clearly(tmp_path):
    path = tmp_path / "future.safetensors"
    write_format_1(path, {}, {"__list__": []}, version="3")
    with pytest.raises(ValueError, match="future.safetensors.*format '3'.*newer dlcore"):
        dl.load(path)


# ---- temp files of killed saves ----

def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_save_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    dl.save({"epoch": 1, "w": dl.ones(3)}, path)
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {REPO_PYTHON!r})
        import dlcore as dl
        from dlcore import safetensors_format
        safetensors_format.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # dies mid-save
        dl.save({{"epoch": 2, "w": dl.zeros(1000)}}, {str(path)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.safetensors"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.safetensors.") and leftovers[0].endswith(".tmp")
    assert dl.load(path)["epoch"] == 1  # the old checkpoint survived the kill
    dl.save({"epoch": 3, "w": dl.ones(3)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.safetensors"]
    assert dl.load(path)["epoch"] == 3


def test_only_stale_temp_files_of_the_same_target_are_removed(tmp_path):
    host = safetensors_format._host_tag()
    dead, alive = dead_pid(), os.getppid()
    hour_ago = time.time() - 2 * 3600
    files = {  # name -> (age in the past, expected to be removed)
        f".ckpt.safetensors.{dead}-{host}.deadbeef.tmp": (False, True),  # its writer is dead
        f".ckpt.safetensors.{os.getpid()}-{host}.0badf00d.tmp": (False, False),  # this process may be saving
        f".ckpt.safetensors.{alive}-{host}.12345678.tmp": (False, False),  # a live writer
        f".ckpt.safetensors.{dead}-0000beef.aaaaaaaa.tmp": (False, False),  # another host's PID: unknowable
        f".ckpt.safetensors.{dead}-0000beef.bbbbbbbb.tmp": (True, True),  # ... until an hour of silence
        f".ckpt.safetensors.{alive}-{host}.cccccccc.tmp": (True, True),
        ".ckpt.safetensors.k2x_9abq.tmp": (False, False),  # written by dlcore's earlier mkstemp naming
        ".ckpt.safetensors.j1y_8zzz.tmp": (True, True),
        f".other.safetensors.{dead}-{host}.deadbeef.tmp": (True, False),  # another target's
        ".ckpt.safetensors.tmp": (True, False), "ckpt.safetensors.1.tmp": (True, False),  # not our pattern
        f".ckpt.safetensors.{dead}-{host}.deadbeef.tmp.bak": (True, False),
    }
    for name, (old, _) in files.items():
        (tmp_path / name).write_bytes(b"partial")
        if old:
            os.utime(tmp_path / name, (hour_ago, hour_ago))
    (tmp_path / f".ckpt.safetensors.{dead}-{host}.dddddddd.tmp").mkdir()  # not a file: left alone
    dl.save({"w": dl.ones(2)}, tmp_path / "ckpt.safetensors")
    remaining = {p.name for p in tmp_path.iterdir()}
    for name, (_, removed) in files.items():
        assert (name not in remaining) == removed, name
    assert f".ckpt.safetensors.{dead}-{host}.dddddddd.tmp" in remaining and "ckpt.safetensors" in remaining


def test_saving_to_a_file_object_and_loading_from_streams(tmp_path):
    import io
    buffer = io.BytesIO()
    dl.save({"w": dl.arange(6).view(2, 3), "n": 4}, buffer)
    buffer.seek(0)
    assert dl.load(buffer)["n"] == 4

    class Stream:  # readable, not seekable: read into memory first, as torch does
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def read(self, n=-1):
            return self.data.read(n)
    back = dl.load(Stream(buffer.getvalue()))
    np.testing.assert_array_equal(back["w"].numpy(), np.arange(6).reshape(2, 3))
    path = tmp_path / "c.safetensors"
    path.write_bytes(buffer.getvalue())
    with open(path, "rb") as f:
        assert dl.load(f)["n"] == 4
    assert dl.load(path, mmap=True)["n"] == 4
    with pytest.raises(ValueError, match="mmap"):
        dl.load(io.BytesIO(buffer.getvalue()), mmap=True)


# ---- refusing what is not a checkpoint file ----

def test_a_device_is_refused_at_once():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(ValueError, match="/dev/zero is not a regular file"):
        dl.load("/dev/zero")
    with open("/dev/zero", "rb") as f:  # a file object is read, but its zero header length is no checkpoint
        with pytest.raises(ValueError, match="header length 0"):
            dl.load(f)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="pipe is not a regular file"):
        dl.load(fifo)  # opening it would block until a writer came
    with pytest.raises(IsADirectoryError):
        dl.load(tmp_path)


def test_a_header_over_the_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 200 * 1024 * 1024))
        f.truncate(300 * 1024 * 1024)  # sparse: the file is big enough to hold the header it claims
    with pytest.raises(ValueError, match="huge.safetensors.*header length 209715200 \\(the limit is 100 MB\\)"):
        dl.load(path)


# ---- malformed files: always ValueError naming the file ----

@pytest.fixture
def valid_checkpoint(tmp_path) -> bytes:
    model = dl.nn.Sequential(dl.nn.Conv2d(1, 2, 3), dl.nn.BatchNorm2d(2))
    opt = dl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "valid.safetensors"
    dl.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2, 7: [1.5, None, (True, "x")],
             "half": dl.ones(3).half(), "flags": dl.tensor([True, False]), "bf": dl.ones(2, 2).bfloat16()}, path)
    return path.read_bytes()


def with_structure(blob: bytes, structure_text: str) -> bytes:
    header, data = header_and_data(blob)
    header["__metadata__"]["dlcore.structure"] = structure_text
    return with_header(header, data)


DEEP = '{"__list__": [' * 3000 + "]}" * 3000
STRUCTURES = {
    "tensor-name-not-a-string": '{"__tensor__": ["model/0.weight"]}',
    "tensor-name-unknown": '{"__tensor__": "nowhere"}',
    "dict-of-a-list": '{"__dict__": [1, 2]}',
    "key-without-kind": '{"__dict__": {"epoch": 1}}',
    "int-key-not-a-number": '{"__dict__": {"int:seven": 1}}',
    "unknown-key-kind": '{"__dict__": {"set:x": 1}}',
    "list-of-an-object": '{"__list__": {"a": 1}}',
    "bare-list": "[1, 2]",
    "two-markers": '{"__list__": [], "__tuple__": []}',
    "unknown-marker": '{"__set__": [1]}',
    "tensor-extra-field": '{"__tensor__": "epoch", "pickle": "os.system"}',
    "device-not-a-string": '{"__tensor__": "half", "device": 0}',
    "integer-requires-grad": '{"__tensor__": "model/1.num_batches_tracked", "requires_grad": true}',
    "requires-grad-not-bool": '{"__tensor__": "half", "requires_grad": "yes"}',
    "bad-device": '{"__device__": "toaster:9"}',
    "bad-dtype": '{"__dtype__": "complex32"}',
    "deep-nesting": DEEP,
    "deep-but-parseable": '{"__list__": [' * 150 + "]}" * 150,
    "huge-integer": "1" * 5000,
    "not-json": '{"__list__": [',
    "lone-surrogate": '{"__tensor__": "\\ud800"}',
}


@pytest.mark.parametrize("case", list(STRUCTURES))
def test_malformed_structure_raises_value_error_naming_the_file(tmp_path, valid_checkpoint, case):
    path = tmp_path / f"bad-{case}.safetensors"
    path.write_bytes(with_structure(valid_checkpoint, STRUCTURES[case]))
    with pytest.raises(ValueError, match=f"bad-{case}.safetensors"):
        dl.load(path)


HEADERS = {
    "dtype-unhashable": lambda h: h["half"].update(dtype=["F16"]),
    "shape-product-overflows-int64": lambda h: h["half"].update(shape=[2**32, 2**32]),
    "offsets-huge": lambda h: h["half"].update(data_offsets=[0, 2**70]),
    "offsets-float": lambda h: h["half"].update(data_offsets=[0.0, 6.0]),
    "shape-bool": lambda h: h["half"].update(shape=[True, 2]),
    "overlap": lambda h: h["flags"].update(data_offsets=[h["half"]["data_offsets"][0] + k for k in (0, 2)]),
    "metadata-not-object": lambda h: h.update(__metadata__=[1]),
    "entry-is-a-list": lambda h: h.update(half=[1, 2]),
    "bool-dtype-on-float-bytes": lambda h: h["half"].update(dtype="BOOL", shape=[6]),
}


@pytest.mark.parametrize("case", list(HEADERS))
def test_malformed_header_raises_value_error_naming_the_file(tmp_path, valid_checkpoint, case):
    header, data = header_and_data(valid_checkpoint)
    HEADERS[case](header)
    path = tmp_path / f"bad-{case}.safetensors"
    path.write_bytes(with_header(header, data))
    with pytest.raises(ValueError, match=f"bad-{case}.safetensors"):
        dl.load(path)


def test_a_deeply_nested_header_raises_value_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    path.write_bytes(with_header('{"a": ' + "[" * 100000 + "]" * 100000 + "}", b""))
    with pytest.raises(ValueError, match="deep.safetensors"):
        dl.load(path)


def test_saving_a_too_deep_or_cyclic_container_raises_value_error(tmp_path):
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="deeper than 100 levels"):
        dl.save(cyclic, tmp_path / "cycle.safetensors")
    assert list(tmp_path.iterdir()) == []


# The fuzzer: many seeded mutations of a valid file's header and of its structure metadata. Each
# must either load or raise ValueError naming the file; any other exception fails the test.
JUNK = ["null", "true", "false", "-1", "0", "7", "3.5", "1e400", "-1e400", "18446744073709551617", "1" + "0" * 4400,
        '""', '"F32"', '"BF16"', '"BOOL"', '"__metadata__"', '"int:0"', '"\\ud800"', "[]", "[0, 4]", "[-1, 2]",
        "[1.5]", "[[0]]", "{}", '{"__tensor__": "half"}', '{"__tensor__": 3}', '{"__dict__": {}}',
        '{"__dict__": {"int:1e3": 0}}', '{"__list__": null}', '{"__ndarray__": "half"}', "[" * 3000 + "]" * 3000]


def node_paths(tree, prefix=()):
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from node_paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from node_paths(v, prefix + (i,))


def replaced(tree, path, junk: str) -> str:
    """``tree`` as JSON text with the node at ``path`` replaced by the raw JSON text ``junk``
    (or deleted, when junk is None)."""
    marker = "@@junk@@"
    if not path:
        return junk
    copy = json.loads(json.dumps(tree))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if junk is None:
        del parent[path[-1]]
        return json.dumps(copy)
    parent[path[-1]] = marker
    return json.dumps(copy).replace(json.dumps(marker), junk, 1)


def test_fuzzed_headers_and_structures_raise_only_value_error(tmp_path, valid_checkpoint):
    rng = np.random.default_rng(1234)
    header, data = header_and_data(valid_checkpoint)
    structure = json.loads(header["__metadata__"]["dlcore.structure"])
    header_paths = list(node_paths(header))
    structure_paths = list(node_paths(structure))
    path = tmp_path / "fuzzed.safetensors"
    outcomes = {"loaded": 0, "ValueError": 0}
    for case in range(600):
        kind = case % 6
        junk = None if rng.random() < 0.15 else JUNK[rng.integers(len(JUNK))]
        if kind in (0, 1):  # a header node replaced or removed
            where = header_paths[rng.integers(1, len(header_paths))]
            blob = with_header(replaced(header, where, junk), data)
        elif kind in (2, 3):  # a structure node replaced or removed
            where = structure_paths[rng.integers(len(structure_paths))]
            blob = with_structure(valid_checkpoint, replaced(structure, where, junk) if where or junk else "{}")
        elif kind == 4:  # bytes of the header overwritten
            blob = bytearray(valid_checkpoint)
            length = struct.unpack("<Q", blob[:8])[0]
            for _ in range(rng.integers(1, 4)):
                blob[8 + rng.integers(length)] = rng.integers(256)
            blob = bytes(blob)
        else:  # the length field, or the file's end
            blob = valid_checkpoint
            choice = rng.integers(3)
            if choice == 0:
                blob = struct.pack("<Q", int(rng.integers(0, 2**63))) + blob[8:]
            elif choice == 1:
                blob = blob[:rng.integers(len(blob))]
            else:
                blob = blob + bytes(rng.integers(1, 16))
        path.write_bytes(blob)
        try:
            dl.load(path)
            outcomes["loaded"] += 1
        except ValueError as error:
            assert "fuzzed.safetensors" in str(error), (case, str(error)[:200])
            outcomes["ValueError"] += 1
    assert outcomes["ValueError"] > 400, outcomes  # most mutations do break the file
