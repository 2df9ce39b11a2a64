# dl.load reads PyTorch's torch.save files (zip and legacy layouts) without running pickle code:
# state dicts of a conv net with batch norm (which then computes what torch computes), optimizer
# state dicts, nested containers, every dtype dlcore shares with torch, views sharing one storage
# (shape, strides, offset and the sharing itself), 0-d and empty tensors, Parameters and
# requires_grad. Hostile pickles, hand-built from opcodes, are refused without running (a marker
# file they would create never appears), and mutated files raise only ValueError.
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import dlcore as dl
from dlcore.torch_format import UnsafeCheckpointError

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"]


def values_of(t) -> np.ndarray:
    """A dlcore or torch tensor's values as float64 numpy (exact for every dtype here)."""
    t = t.detach()
    if t.dtype in (torch.bfloat16, dl.bfloat16):
        t = t.float()
    return np.asarray(t.cpu().numpy(), dtype=np.float64)


def assert_same_tensor(ours, theirs, *, layout: bool = True) -> None:
    assert isinstance(ours, dl.Tensor), type(ours)
    assert str(ours.dtype).rpartition(".")[2] == str(theirs.dtype).rpartition(".")[2]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(values_of(ours), values_of(theirs))
    assert ours.requires_grad == theirs.requires_grad
    if layout and theirs.numel() > 1:
        # strides of size-1 dimensions carry no meaning (and torch's are arbitrary there)
        wanted = [s for n, s in zip(theirs.shape, theirs.stride()) if n > 1]
        assert [s for n, s in zip(ours.shape, ours.stride()) if n > 1] == wanted
        assert ours.storage_offset() == theirs.storage_offset()


def saved(obj, tmp_path, name="x.pt", **kwargs):
    path = tmp_path / name
    torch.save(obj, path, **kwargs)
    return path


LAYOUTS = {"zip": {}, "legacy": {"_use_new_zipfile_serialization": False}}


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def dlcore_net():
    return dl.nn.Sequential(dl.nn.Conv2d(2, 4, 3, padding=1), dl.nn.BatchNorm2d(4), dl.nn.ReLU(), dl.nn.Flatten(),
                            dl.nn.Linear(4 * 4 * 4, 3))


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_conv_net_with_batch_norm_loads_and_computes_what_torch_computes(tmp_path, layout):
    torch.manual_seed(0)
    net = TorchNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(5, 2, 4, 4)
    for _ in range(2):  # running statistics and num_batches_tracked move off their initial values
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    net.eval()
    state = net.state_dict()
    path = saved(state, tmp_path, **LAYOUTS[layout])
    loaded = dl.load(path)
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert_same_tensor(loaded[key], value)
    assert loaded["bn.num_batches_tracked"].dtype == dl.int64 and loaded["bn.num_batches_tracked"].item() == 2

    ours = dlcore_net()
    renamed = {"0": "conv", "1": "bn", "4": "fc"}
    ours.load_state_dict({k: loaded[renamed[k.split(".")[0]] + "." + k.split(".", 1)[1]] for k in ours.state_dict()})
    ours.eval()
    with torch.no_grad():
        expected = net(x).numpy()
    np.testing.assert_allclose(ours(dl.tensor(x.numpy())).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_optimizer_state_dicts(tmp_path, layout):
    torch.manual_seed(1)
    net = TorchNet()
    for opt in (torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.8, 0.99)),
                torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)):
        net(torch.randn(2, 2, 4, 4)).sum().backward()
        opt.step()
        state = opt.state_dict()
        loaded = dl.load(saved(state, tmp_path, **LAYOUTS[layout]))
        assert sorted(loaded["state"]) == sorted(state["state"])
        for index, entries in state["state"].items():
            assert sorted(loaded["state"][index]) == sorted(entries)
            for name, value in entries.items():
                assert_same_tensor(loaded["state"][index][name], value)
        assert loaded["param_groups"] == state["param_groups"]  # floats, bools, None, tuples, lists


def test_nested_containers_and_plain_values(tmp_path):
    obj = {"list": [1, 2.5, None, "text", True, torch.ones(2)], "tuple": (torch.zeros(1), ("inner", -3)),
           "nested": {"a": {"b": {"c": [torch.arange(3)]}}}, 7: "int key", (1, 2): "tuple key",
           "bytes": b"\x00\xffraw", "set": {1, 2, 3}, "frozen": frozenset({"x"}), "complex": 1 + 2j,
           "size": torch.Size([2, 3]), "device": torch.device("cuda", 1), "cpu": torch.device("cpu"),
           "dtype": torch.bfloat16, "big": 2**70, "inf": float("inf")}
    for layout in LAYOUTS.values():
        loaded = dl.load(saved(obj, tmp_path, **layout))
        assert loaded["list"][:5] == [1, 2.5, None, "text", True]
        assert_same_tensor(loaded["list"][5], obj["list"][5])
        assert isinstance(loaded["tuple"], tuple) and loaded["tuple"][1] == ("inner", -3)
        assert_same_tensor(loaded["nested"]["a"]["b"]["c"][0], obj["nested"]["a"]["b"]["c"][0])
        assert loaded[7] == "int key" and loaded[(1, 2)] == "tuple key"
        assert loaded["bytes"] == b"\x00\xffraw" and loaded["set"] == {1, 2, 3} and loaded["frozen"] == frozenset({"x"})
        assert loaded["complex"] == 1 + 2j and loaded["size"] == (2, 3) and loaded["big"] == 2**70
        assert loaded["device"] == dl.device("cuda:1") and loaded["cpu"] == dl.device("cpu")
        assert loaded["dtype"] == dl.bfloat16 and loaded["inf"] == float("inf")


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_shared_dtype_round_trips_exactly(tmp_path, layout):
    rng = np.random.default_rng(2)
    base = torch.from_numpy(rng.standard_normal((3, 5)) * 100)
    tensors = {name: (base.abs() if name in ("uint8",) else base).to(getattr(torch, name)) for name in DTYPES}
    tensors["bool"] = base > 0
    tensors["bf16_edge"] = torch.tensor([1e-40, -0.0, float("inf"), 3e38], dtype=torch.bfloat16)
    tensors["f16_edge"] = torch.tensor([6e-8, -0.0, 65504, float("-inf")], dtype=torch.float16)
    loaded = dl.load(saved(tensors, tmp_path, **LAYOUTS[layout]))
    for name, value in tensors.items():
        assert_same_tensor(loaded[name], value)


def test_a_dtype_dlcore_lacks_is_named(tmp_path):
    with pytest.raises(ValueError, match="x.pt.*torch.int16.*dlcore has no dtype"):
        dl.load(saved({"w": torch.ones(2, dtype=torch.int16)}, tmp_path))
    with pytest.raises(ValueError, match="torch.uint16"):
        dl.load(saved({"w": torch.ones(2, dtype=torch.uint16)}, tmp_path))


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_views_of_one_storage_keep_their_layout_and_stay_shared(tmp_path, layout):
    base = torch.arange(24.0).reshape(4, 6)
    cube = torch.arange(60.0).reshape(3, 4, 5)
    views = {"base": base, "tail": base[1:, 2:], "transposed": base.T, "every_other": base[:, ::2],
             "row": base[2], "column": base[:, 3], "element": base[2, 3], "flat_slice": base.view(-1)[3:7],
             "expanded": base[1].unsqueeze(0).expand(3, 6), "empty_slice": base[:, 6:],
             "permuted": cube.permute(2, 0, 1), "cube_slice": cube[1:, ::2, 1:4], "cube": cube}
    loaded = dl.load(saved(views, tmp_path, **LAYOUTS[layout]))
    for name, value in views.items():
        assert_same_tensor(loaded[name], value, layout=name != "expanded")
    assert loaded["expanded"].stride()[0] == 0  # an expanded view stays one row in memory
    loaded["base"].mul_(-1.0)  # one storage: every view of it sees the change
    loaded["cube"].add_(1000.0)
    for name, value in views.items():
        if name in ("base", "cube"):
            continue
        sign, shift = (-1.0, 0.0) if name not in ("permuted", "cube_slice") else (1.0, 1000.0)
        np.testing.assert_array_equal(values_of(loaded[name]), sign * values_of(value) + shift, err_msg=name)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layouts_no_view_can_express_load_as_copies(tmp_path, layout):
    # overlapping windows, and a layout whose rows would run past the storage's end if padded out
    seven = torch.arange(7.0)
    views = {"windows": seven.as_strided((5, 3), (1, 1)), "truncated": seven.as_strided((2, 3), (4, 1), 0),
             "windows_offset": seven.as_strided((2, 2), (2, 1), 3)}
    loaded = dl.load(saved(views, tmp_path, **LAYOUTS[layout]))
    for name, value in views.items():
        assert_same_tensor(loaded[name], value, layout=name == "windows_offset")


def test_a_view_saved_alone_keeps_its_offset(tmp_path):
    base = torch.arange(30.0).reshape(5, 6)
    loaded = dl.load(saved({"view": base[2:, 1:4].t()}, tmp_path))
    assert_same_tensor(loaded["view"], base[2:, 1:4].t())


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_zero_dim_empty_parameters_and_requires_grad(tmp_path, layout):
    obj = {"scalar": torch.tensor(3.5), "int_scalar": torch.tensor(7), "empty": torch.zeros(0, 3),
           "empty_long": torch.zeros(0, dtype=torch.int64), "param": torch.nn.Parameter(torch.randn(2, 2)),
           "frozen": torch.nn.Parameter(torch.randn(3), requires_grad=False),
           "grad": torch.randn(2).requires_grad_()}
    loaded = dl.load(saved(obj, tmp_path, **LAYOUTS[layout]))
    for name in ("scalar", "int_scalar", "empty", "empty_long", "grad"):
        assert_same_tensor(loaded[name], obj[name])
    assert loaded["scalar"].shape == () and loaded["scalar"].item() == 3.5
    assert isinstance(loaded["param"], dl.Parameter) and loaded["param"].requires_grad
    assert isinstance(loaded["frozen"], dl.Parameter) and not loaded["frozen"].requires_grad
    np.testing.assert_array_equal(values_of(loaded["param"]), values_of(obj["param"]))
    assert loaded["grad"].requires_grad and loaded["grad"].is_leaf


def test_file_objects_and_map_location(tmp_path):
    base = torch.arange(6.0).reshape(2, 3)
    state = {"w": base, "v": base.T}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    assert_same_tensor(dl.load(buffer)["v"], state["v"])
    path = saved(state, tmp_path)
    seen = []

    def keep_on_cpu(storage, location):
        seen.append((tuple(storage.shape), location))
        return storage
    loaded = dl.load(path, map_location=keep_on_cpu)
    assert seen == [((6,), "cpu")]  # once per storage, with the flat storage: two views, one storage
    assert_same_tensor(loaded["v"], state["v"])
    for location in ("cpu", dl.device("cpu"), {"cuda:0": "cpu"}, lambda storage, location: None):
        assert dl.load(path, map_location=location)["w"].device.type == "cpu"
    with pytest.raises(TypeError, match="map_location callable must return"):
        dl.load(path, map_location=lambda storage, location: storage[:2])
    with pytest.raises(TypeError, match="map_location must be"):
        dl.load(path, map_location=3)
    with pytest.raises(TypeError, match="pickle_module"):
        dl.load(path, pickle_module=pickle)


def test_a_big_endian_archive_is_byte_swapped(tmp_path):
    state = {"f": torch.randn(3, 2), "i": torch.arange(5), "h": torch.randn(4).half(), "b": torch.randn(3).bfloat16()}
    path = saved(state, tmp_path)
    swapped = tmp_path / "big.pt"
    itemsizes = {"0": 4, "1": 8, "2": 2, "3": 2}  # storages are numbered in the order the dict holds them
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(swapped, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                itemsize = itemsizes[info.filename.rpartition("/")[2]]
                data = np.frombuffer(data, f"u{itemsize}").byteswap().tobytes()
            target.writestr(info, data)
    loaded = dl.load(swapped)
    for key, value in state.items():
        assert_same_tensor(loaded[key], value)


def test_a_safetensors_file_from_safetensors_torch_loads(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    tensors = {name: torch.arange(6).reshape(2, 3).to(getattr(torch, name)) for name in DTYPES}
    st.save_file(tensors, str(tmp_path / "m.safetensors"))
    loaded = dl.load(tmp_path / "m.safetensors")
    for name, value in tensors.items():
        assert_same_tensor(loaded[name], value)


def test_torchscript_and_tar_layouts_are_named(tmp_path):
    path = tmp_path / "scripted.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("m/constants.pkl", b"\x80\x02].")
        archive.writestr("m/code/__torch__.py", "")
    with pytest.raises(ValueError, match="scripted.pt.*TorchScript"):
        dl.load(path)
    tar = tmp_path / "old.tar"
    tar.write_bytes(b"\x00" * 257 + b"ustar" + b"\x00" * 250)
    with pytest.raises(ValueError, match="old.tar.*tar layout"):
        dl.load(tar)


# ---- hostile pickles ----

def global_op(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value: str) -> bytes:
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def call(module: str, name: str, *args: str) -> bytes:
    """protocol 2: GLOBAL module.name, its string arguments as a tuple, REDUCE."""
    return global_op(module, name) + b"(" + b"".join(text(a) for a in args) + b"tR"


def torch_zip(path, data_pkl: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")


def legacy_stream(path, main: bytes) -> None:
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    head = magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"little_endian": True}, protocol=2)
    path.write_bytes(head + main + pickle.dumps([], protocol=2))


def hostile_pickles(marker) -> dict[str, tuple[bytes, str]]:
    command = f"touch {marker}"
    opener = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": (b"\x80\x02" + call("os", "system", command) + b".", "os.system"),
        "posix.system": (b"\x80\x02" + call("posix", "system", command) + b".", "posix.system"),
        "builtins.eval": (b"\x80\x02" + call("builtins", "eval", opener) + b".", "builtins.eval"),
        "__builtin__.exec": (b"\x80\x02" + call("__builtin__", "exec", opener) + b".", "__builtin__.exec"),
        "builtins.getattr": (b"\x80\x02" + call("builtins", "getattr", "x", "y") + b".", "builtins.getattr"),
        "custom class": (b"\x80\x02" + global_op("__main__", "Evil") + b")\x81.", "__main__.Evil"),
        "stack global": (b"\x80\x04" + text("subprocess") + text("call") + b"\x93" + b"(" + text(command) + b"tR.",
                         "subprocess.call"),
        "inst opcode": (b"(" + text(command) + b"ios\nsystem\n.", "os.system"),
        "nested in a state dict": (b"\x80\x02" + global_op("collections", "OrderedDict") + b")R" + text("w")
                                   + call("os", "system", command) + b"s.", "os.system"),
        "rebuild with a hostile storage": (b"\x80\x02" + global_op("torch._utils", "_rebuild_tensor_v2") + b"("
                                           + call("os", "popen", command) + b"K\x00)))\x89tR.", "os.popen"),
        "numpy reconstruct": (b"\x80\x02" + call("numpy.core.multiarray", "_reconstruct") + b".",
                              "numpy.core.multiarray._reconstruct"),
        "build on a set": (b"\x80\x02" + global_op("builtins", "set") + b")R}" + text("x") + text("y") + b"sb.",
                           "BUILD"),
        "ext opcode": (b"\x80\x02\x82\x01.", "EXT"),
    }


@pytest.mark.parametrize("weights_only", [None, True, False])
@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_hostile_pickles_are_refused_without_running(tmp_path, layout, weights_only):
    marker = tmp_path / "pwned"
    for case, (data, named) in hostile_pickles(marker).items():
        path = tmp_path / f"hostile-{layout}.pt"
        if layout == "zip":
            torch_zip(path, data)
        else:
            legacy_stream(path, data)
        with pytest.raises(UnsafeCheckpointError, match=named) as info:
            dl.load(path, weights_only=weights_only)
        message = str(info.value)
        assert f"hostile-{layout}.pt" in message and "never runs pickle code" in message, case
        assert ("not even with weights_only=False" in message) == (weights_only is False), case
        assert isinstance(info.value, ValueError) and isinstance(info.value, pickle.UnpicklingError)
        assert not marker.exists(), case


def test_the_hostile_payload_is_live(tmp_path):
    # the control for the test above: the same bytes, unpickled by Python's own loader, do run
    marker = tmp_path / "pwned"
    data, _ = hostile_pickles(marker)["os.system"]
    pickle.loads(data)
    assert marker.exists()


def test_a_plain_pickle_file_is_not_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "plain.pkl"
    path.write_bytes(hostile_pickles(marker)["os.system"][0])  # no torch layout at all
    with pytest.raises(ValueError, match="plain.pkl"):
        dl.load(path)
    assert not marker.exists()


def test_bad_persistent_ids_and_storages_raise_value_error(tmp_path):
    good = saved({"w": torch.arange(4.0)}, tmp_path, "good.pt")
    with zipfile.ZipFile(good) as archive:
        data_pkl = archive.read("good/data.pkl")
        storage = archive.read("good/data/0")
    cases = {
        "missing record": (data_pkl, None),
        "short record": (data_pkl, storage[:8]),
        "unknown persistent id": (b"\x80\x02" + text("module") + b"\x85Q.", storage),
        "view past the storage": (data_pkl.replace(b"K\x04\x85", b"K\x09\x85"), storage),
    }
    assert cases["view past the storage"][0] != data_pkl
    for case, (pickled, record) in cases.items():
        path = tmp_path / "bad.pt"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("bad/data.pkl", pickled)
            if record is not None:
                archive.writestr("bad/data/0", record)
        with pytest.raises(ValueError, match="bad.pt") as info:
            dl.load(path)
        assert not isinstance(info.value, UnsafeCheckpointError), case


def mutate(rng, data: bytes) -> bytes:
    blob = bytearray(data)
    choice = rng.integers(4)
    if choice == 0:
        for _ in range(rng.integers(1, 4)):
            blob[rng.integers(len(blob))] = rng.integers(256)
    elif choice == 1:
        del blob[rng.integers(len(blob)):]
    elif choice == 2:
        at = rng.integers(len(blob))
        blob[at:at] = bytes(rng.integers(0, 256, rng.integers(1, 6), dtype=np.uint8))
    else:
        at = rng.integers(len(blob))
        del blob[at:at + rng.integers(1, 6)]
    return bytes(blob)


def test_fuzzed_torch_files_raise_only_value_error(tmp_path):
    rng = np.random.default_rng(7)
    state = {"model": TorchNet().state_dict(), "step": 3, "views": (torch.arange(6.0).view(2, 3).T,)}
    zip_path = saved(state, tmp_path, "fuzz.pt")
    with zipfile.ZipFile(zip_path) as archive:
        records = {info.filename: archive.read(info) for info in archive.infolist()}
    legacy = saved(state, tmp_path, "legacy.pt", _use_new_zipfile_serialization=False).read_bytes()
    path = tmp_path / "fuzzed.pt"
    errors = 0
    for case in range(300):
        if case % 3 == 2:
            path.write_bytes(mutate(rng, legacy))
        else:
            with zipfile.ZipFile(path, "w") as archive:
                for name, data in records.items():
                    archive.writestr(name, mutate(rng, data) if name.endswith("data.pkl") else data)
            if case % 3 == 1:
                path.write_bytes(mutate(rng, path.read_bytes()))
        try:
            dl.load(path)
        except ValueError as error:
            assert "fuzzed.pt" in str(error), (case, str(error)[:200])
            errors += 1
    assert errors > 150
    assert not any(name.startswith("pwned") for name in os.listdir(tmp_path))


def test_sizes_a_crafted_file_claims_are_checked_before_allocating(tmp_path):
    # a legacy storage allocated before its bytes arrive, and a layout only a copy could build
    huge_storage = (b"\x80\x02" + global_op("torch._utils", "_rebuild_tensor_v2") + b"(" + b"(" + text("storage")
                    + global_op("torch", "FloatStorage") + text("0") + text("cpu") + b"\x8a\x06\x00\x00\x00\x00\x00\x01"
                    + b"Ntq\x00Q" + b"K\x00K\x01\x85K\x01\x85\x89" + global_op("collections", "OrderedDict")
                    + b")RtR.")
    path = tmp_path / "claims.pt"
    legacy_stream(path, huge_storage)
    with pytest.raises(ValueError, match="claims.pt.*more than the rest of the file holds"):
        dl.load(path)
    base = torch.arange(2.0**17)
    path = saved({"w": base.as_strided((2, 2), (1, 1))}, tmp_path, "windows.pt")
    with zipfile.ZipFile(path) as archive:
        records = {info.filename: archive.read(info) for info in archive.infolist()}
    pickled = records["windows/data.pkl"]
    assert pickled.count(b"K\x02K\x02\x86") == 1
    records["windows/data.pkl"] = pickled.replace(b"K\x02K\x02\x86", b"J\x00\x00\x01\x00J\x00\x00\x01\x00\x86")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="windows.pt.*only build as a copy"):
        dl.load(path)  # 2^32 elements of overlapping windows over 2^17: refused, not allocated
