# Checkpoints through dl.save/dl.load: model and optimizer state dicts plus plain values round trip,
# a run resumed from a checkpoint continues exactly like the uninterrupted run (SGD momentum, Adam),
# and damaged files raise ValueError naming the file instead of loading garbage.
import json
import struct

import numpy as np
import pytest

import dlcore as dl
from dlcore import nn


def small_model(batch_norm: bool = False) -> nn.Sequential:
    middle = nn.BatchNorm2d(4) if batch_norm else nn.Tanh()  # index 1 either way: the same state keys elsewhere
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), middle, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 10))


def batch(step: int) -> tuple:
    rng = np.random.default_rng(100 + step)
    return (dl.tensor(rng.standard_normal((8, 1, 10, 10)).astype(np.float32)),
            dl.tensor(rng.integers(0, 10, 8).astype(np.int64)))


def train(model, optimizer, steps: range) -> None:
    for step in steps:
        images, labels = batch(step)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()


OPTIMIZERS = {"sgd-momentum": lambda ps: dl.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-4),
              "adam": lambda ps: dl.optim.Adam(ps, lr=1e-3)}


def state_arrays(model) -> dict:
    return {k: v.cpu().numpy().copy() for k, v in model.state_dict().items()}


def test_round_trip_of_model_optimizer_and_epoch(tmp_path):
    dl.manual_seed(0)
    model = small_model()
    optimizer = dl.optim.Adam(model.parameters(), lr=2e-3, betas=(0.8, 0.99))
    train(model, optimizer, range(2))
    path = tmp_path / "checkpoint.safetensors"
    dl.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 7, "note": "lenet",
             "history": [0.5, 0.25]}, path)
    loaded = dl.load(path)
    assert loaded["epoch"] == 7 and loaded["note"] == "lenet" and loaded["history"] == [0.5, 0.25]
    assert list(loaded["model"]) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert loaded["model"][key].shape == value.shape and loaded["model"][key].dtype == value.dtype, key
        np.testing.assert_array_equal(loaded["model"][key].numpy(), value.numpy(), err_msg=key)
    saved_state = optimizer.state_dict()
    assert sorted(loaded["optimizer"]["state"]) == sorted(saved_state["state"])
    for index, entries in saved_state["state"].items():
        for name, value in entries.items():
            np.testing.assert_array_equal(loaded["optimizer"]["state"][index][name].numpy().reshape(-1),
                                          value.numpy().reshape(-1), err_msg=f"{index}.{name}")
    group = loaded["optimizer"]["param_groups"][0]
    assert group["betas"] == pytest.approx((0.8, 0.99)) and group["lr"] == pytest.approx(2e-3)


def test_zero_dim_tensor_round_trip_keeps_its_shape(tmp_path):
    path = tmp_path / "scalar.safetensors"
    dl.save({"loss": dl.tensor([1.0, 2.0, 3.0]).sum()}, path)
    assert dl.load(path)["loss"].shape == ()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resumed_training_continues_identically(tmp_path, name):
    dl.manual_seed(1)
    straight = small_model()
    straight_opt = OPTIMIZERS[name](straight.parameters())
    initial = state_arrays(straight)  # copies: state_dict() entries share the parameters' memory
    resumed_start = small_model()
    resumed_start.load_state_dict(initial)
    train(straight, straight_opt, range(6))

    first_half_opt = OPTIMIZERS[name](resumed_start.parameters())
    train(resumed_start, first_half_opt, range(3))
    path = tmp_path / "resume.safetensors"
    dl.save({"model": resumed_start.state_dict(), "optimizer": first_half_opt.state_dict(), "epoch": 3}, path)

    dl.manual_seed(99)  # a different fresh initialisation: everything must come from the file
    resumed = small_model()
    resumed_opt = OPTIMIZERS[name](resumed.parameters())
    checkpoint = dl.load(path)
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    train(resumed, resumed_opt, range(checkpoint["epoch"], 6))

    expected, actual = state_arrays(straight), state_arrays(resumed)
    moved = np.abs(expected["5.weight"] - initial["5.weight"]).max()
    assert moved > 1e-4  # training did change the weights, so equality below means something
    for key in expected:  # same ops in the same order on the CPU: bit-identical
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def test_checkpoint_of_a_model_with_batch_norm_loads_back(tmp_path):
    model = small_model(batch_norm=True)
    train(model, dl.optim.SGD(model.parameters(), lr=0.1), range(2))
    path = tmp_path / "bn.safetensors"
    dl.save({"model": model.state_dict()}, path)
    restored = small_model(batch_norm=True)
    restored.load_state_dict(dl.load(path)["model"])
    for key, value in state_arrays(model).items():
        np.testing.assert_array_equal(state_arrays(restored)[key], value, err_msg=key)


def test_resuming_without_optimizer_state_diverges(tmp_path):
    # the control for the test above: losing the momentum buffers must show up in the weights
    dl.manual_seed(1)
    straight = small_model()
    resumed = small_model()
    resumed.load_state_dict(straight.state_dict())
    opt = OPTIMIZERS["sgd-momentum"]
    train(straight, opt(straight.parameters()), range(6))
    train(resumed, opt(resumed.parameters()), range(3))
    train(resumed, opt(resumed.parameters()), range(3, 6))
    assert not np.array_equal(state_arrays(straight)["5.weight"], state_arrays(resumed)["5.weight"])


def test_load_moves_tensors_to_map_location(tmp_path, device):
    path = tmp_path / "weights.safetensors"
    dl.save(small_model().state_dict(), path)
    loaded = dl.load(path, map_location=device)
    assert all(t.device.type == device for t in loaded.values())
    small_model().to(device).load_state_dict(loaded)


def test_save_rejects_unsupported_values(tmp_path):
    with pytest.raises(TypeError, match="save: cannot store a set at 'bad'"):
        dl.save({"bad": {1, 2}}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_save_over_an_existing_checkpoint_is_atomic(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    dl.save({"epoch": 1, "w": dl.ones(3)}, path)
    with pytest.raises(TypeError):
        dl.save({"epoch": 2, "bad": object()}, path)  # fails while encoding: the old file must survive
    assert dl.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temporary left behind


# ---- damaged files ----

@pytest.fixture
def checkpoint_bytes(tmp_path) -> bytes:
    path = tmp_path / "good.safetensors"
    dl.save({"model": small_model().state_dict(), "epoch": 2}, path)
    return path.read_bytes()


def corrupt_header_json(blob: bytes) -> bytes:
    (length,) = struct.unpack("<Q", blob[:8])
    header = bytearray(blob[8:8 + length])
    header[0:1] = b"["  # a JSON object no more
    return blob[:8] + bytes(header) + blob[8 + length:]


def edit_header(blob: bytes, edit) -> bytes:
    """The same file with its JSON header changed by `edit` (a well-formed file, wrong content)."""
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    edit(header)
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + blob[8 + length:]


def wrong_offsets(blob: bytes) -> bytes:
    def shrink(header: dict) -> None:
        name = next(k for k in header if k != "__metadata__")
        header[name]["data_offsets"] = [0, 4]  # too few bytes for the tensor's shape
    return edit_header(blob, shrink)


def structure_names_missing_tensor(blob: bytes) -> bytes:
    def rename(header: dict) -> None:
        header["__metadata__"]["dlcore.structure"] = json.dumps({"__tensor__": "nowhere"})
    return edit_header(blob, rename)


DAMAGE = {
    "empty": (lambda b: b"", "truncated"),
    "header-length-only": (lambda b: b[:8], "truncated|header length"),
    "truncated-half": (lambda b: b[:len(b) // 2], "truncated"),
    "missing-last-byte": (lambda b: b[:-1], "truncated"),
    "huge-header-length": (lambda b: struct.pack("<Q", 1 << 60) + b[8:], "header length"),
    "header-not-json": (lambda b: b[:8] + b"\xff" * 20 + b[28:], "corrupted"),
    "header-not-object": (corrupt_header_json, "corrupted"),
    "bad-offsets": (wrong_offsets, "data_offsets|needs|corrupted"),
    "structure-names-missing-tensor": (structure_names_missing_tensor, "does not contain"),
    "random-bytes": (lambda b: np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes(),
                     "corrupted|truncated|header"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_checkpoint_raises_value_error_naming_the_file(tmp_path, checkpoint_bytes, damage):
    make, expected = DAMAGE[damage]
    path = tmp_path / f"damaged-{damage}.safetensors"
    path.write_bytes(make(checkpoint_bytes))
    with pytest.raises(ValueError, match=f"damaged-{damage}.safetensors") as info:
        dl.load(path)
    assert any(word in str(info.value) for word in expected.split("|")), str(info.value)


def test_missing_checkpoint_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        dl.load(tmp_path / "absent.safetensors")


def test_bad_optimizer_state_leaves_the_optimizer_unchanged():
    layer = dl.nn.Linear(3, 2)
    opt = dl.optim.Adam(layer.parameters(), lr=0.1)
    dl.nn.functional.linear(dl.randn(4, 3), layer.weight, layer.bias).sum().backward()
    opt.step()
    before = {k: v.numpy().copy() for k, v in opt.state_dict()["state"][0].items()}
    bad = opt.state_dict()
    bad["state"][0] = {name: dl.zeros(2, 3) for name in ("exp_avg", "exp_avg_sq")}  # valid for parameter 0
    bad["state"][1] = {"exp_avg": dl.zeros(5)}  # wrong shape for the bias: the whole load must fail
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state '1.exp_avg'"):
        opt.load_state_dict(bad)
    after = opt.state_dict()["state"][0]
    for name, value in before.items():
        np.testing.assert_array_equal(after[name].numpy(), value)


ALL_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool"]


def test_every_dtype_is_stored_natively_and_round_trips(tmp_path):
    from dlcore.safetensors_format import load_file

    values = np.array([[0.0, 1.5, -2.25], [3.0, 100.0, 0.0078125]])
    tensors = {name: dl.tensor(np.abs(values) if name in ("uint8", "bool") else values).to(getattr(dl, name))
               for name in ALL_DTYPES}
    path = tmp_path / "dtypes.safetensors"
    dl.save(tensors, path)
    arrays, _ = load_file(path)
    stored = {"float32": "<f4", "float64": "<f8", "float16": "<f2", "int64": "<i8", "int32": "<i4", "uint8": "u1",
              "bool": "?"}
    for name, numpy_dtype in stored.items():
        assert arrays[name].dtype == np.dtype(numpy_dtype), name
    loaded = dl.load(path)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.dtype, name
        np.testing.assert_array_equal(loaded[name].float().numpy(), t.float().numpy(), err_msg=name)


def test_dtypes_round_trip_with_safetensors_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    values = torch.tensor([[0.5, -1.25], [3.0, 7.0]])
    originals = {name: (values.abs() if name in ("uint8", "bool") else values).to(getattr(torch, name))
                 for name in ALL_DTYPES}
    theirs = tmp_path / "torch.safetensors"
    st.save_file(originals, str(theirs))
    from dlcore.safetensors_format import load_file
    arrays, _ = load_file(theirs)
    ours = tmp_path / "dlcore.safetensors"
    dl.save({name: dl.serialization._array_to_tensor(a) for name, a in arrays.items()}, ours)
    back = st.load_file(str(ours))  # dl.save names a dict's tensors by their keys
    for name, t in originals.items():
        assert back[name].dtype == t.dtype, name
        assert torch.equal(back[name], t), name


# ---- what a checkpoint may hold ----

def test_saving_a_module_optimizer_or_scheduler_object_says_to_save_its_state_dict(tmp_path):
    model = small_model()
    opt = dl.optim.SGD(model.parameters(), lr=0.1)
    sched = dl.optim.lr_scheduler.StepLR(opt, 2)
    for obj, kind in ((model, "Sequential"), (opt, "SGD"), ({"sched": sched}, "StepLR")):
        with pytest.raises(TypeError, match=f"cannot store a {kind} object.*never pickles.*state_dict()"):
            dl.save(obj, tmp_path / "x.safetensors")
    assert list(tmp_path.iterdir()) == []


def scheduler_states() -> dict:
    from dlcore.optim import lr_scheduler as L
    states = {}
    for name, make in {
        "onecycle": lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=10),
        "plateau": lambda o: L.ReduceLROnPlateau(o),  # holds float('inf')
        "sequential": lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.ExponentialLR(o, 0.9)], milestones=[3]),
        "lambda": lambda o: L.LambdaLR(o, lambda epoch: 0.5),  # lr_lambdas: [None]
        "cyclic": lambda o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3),
    }.items():
        opt = dl.optim.SGD(dl.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
        sched = make(opt)
        for _ in range(4):
            opt.step()
            sched.step(1.0) if name == "plateau" else sched.step()
        states[name] = sched.state_dict()
    return states


def test_scheduler_state_dicts_round_trip_exactly(tmp_path):
    states = scheduler_states()
    dl.save(states, tmp_path / "sched.safetensors")
    loaded = dl.load(tmp_path / "sched.safetensors")
    assert loaded == states  # floats bit-exact, ints, None, lists, nested dicts, inf

    def same_types(a, b):
        assert type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)), (a, b)
        if isinstance(a, dict):
            for k in a:
                same_types(a[k], b[k])
        elif isinstance(a, (list, tuple)):
            for x, y in zip(a, b):
                same_types(x, y)
    same_types(states, loaded)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_zero_dim_empty_and_non_contiguous_tensors_of_every_dtype(tmp_path, dtype):
    values = np.arange(24, dtype=np.float64).reshape(4, 6) * (1 if dtype in ("uint8", "bool") else -1.5)
    base = dl.tensor(values).to(getattr(dl, dtype))
    tensors = {"base": base, "transposed": base.t(), "strided": base.view(4, 3, 2).select(2, 1),
               "narrowed": base.narrow(0, 1, 2).narrow(1, 2, 3), "permuted": base.view(2, 2, 6).permute(2, 0, 1),
               "scalar": base.select(0, 1).select(0, 2), "empty": base.narrow(0, 0, 0),
               "empty_3d": dl.zeros(2, 0, 3).to(getattr(dl, dtype))}
    path = tmp_path / f"{dtype}.safetensors"
    dl.save(tensors, path)
    loaded = dl.load(path)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.dtype and loaded[name].shape == t.shape, name
        np.testing.assert_array_equal(loaded[name].float().numpy(), t.float().numpy(), err_msg=name)
    assert loaded["scalar"].shape == () and loaded["empty"].shape == (0, 6)


def test_parameters_requires_grad_devices_and_dtypes_round_trip(tmp_path):
    param = dl.Parameter(dl.randn(2, 3))
    frozen = dl.Parameter(dl.randn(2), requires_grad=False)
    leaf = dl.randn(3).requires_grad_()
    path = tmp_path / "p.safetensors"
    dl.save({"param": param, "frozen": frozen, "leaf": leaf, "device": dl.device("cuda:1"), "dtype": dl.bfloat16}, path)
    loaded = dl.load(path)
    assert isinstance(loaded["param"], dl.Parameter) and loaded["param"].requires_grad
    assert isinstance(loaded["frozen"], dl.Parameter) and not loaded["frozen"].requires_grad
    assert not isinstance(loaded["leaf"], dl.Parameter) and loaded["leaf"].requires_grad and loaded["leaf"].is_leaf
    np.testing.assert_array_equal(loaded["param"].detach().numpy(), param.detach().numpy())
    assert loaded["device"] == dl.device("cuda:1") and loaded["dtype"] == dl.bfloat16


def test_map_location_forms_see_the_saved_device(tmp_path):
    path = tmp_path / "cuda1.safetensors"
    dl.save({"w": dl.arange(6).view(2, 3), "b": dl.ones(2)}, path)

    def saved_on_cuda1(header: dict) -> None:  # as a save on the second GPU writes it
        structure = json.loads(header["__metadata__"]["dlcore.structure"])
        structure["__dict__"]["str:w"]["device"] = "cuda:1"
        header["__metadata__"]["dlcore.structure"] = json.dumps(structure)
    path.write_bytes(edit_header(path.read_bytes(), saved_on_cuda1))
    seen = []

    def record(storage, location):
        seen.append((tuple(storage.shape), location))
        return storage if location == "cpu" else None
    loaded = dl.load(path, map_location=record)
    assert sorted(seen) == [((2,), "cpu"), ((6,), "cuda:1")]
    assert loaded["w"].shape == (2, 3) and loaded["w"].device.type == "cpu"
    for form in (None, "cpu", dl.device("cpu"), {"cuda:1": "cpu"}, {"cuda:0": "cuda:0"}):
        loaded = dl.load(path, map_location=form)
        assert loaded["w"].device.type == "cpu" and loaded["w"].tolist() == [[0, 1, 2], [3, 4, 5]], form
    if not dl.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):  # map_location's own failure, not a ValueError
            dl.load(path, map_location={"cuda:1": "cuda:0"})
