"""Devices, streams and events: dl.device with an index, dl.cuda's device and stream management,
and the caching allocator's per-device, per-stream pools.

The multi-device cases need two CUDA devices: a machine with two GPUs, or the CUDA emulator, which
reports two (DLCORE_EMULATED_DEVICES) and fails a kernel launch that is handed another device's
memory, so an op that forgets to make its tensors' device current fails here rather than silently
running on the wrong GPU.
"""
import pickle

import numpy as np
import pytest

import dlcore as dl
from dlcore import nn

two_devices = pytest.mark.skipif(dl.cuda.device_count() < 2, reason="needs two CUDA devices (a GPU pair or the emulator)")
one_device = pytest.mark.skipif(not dl.cuda.is_available(), reason="needs a CUDA device (a GPU or the emulator)")


# ---- dl.device (no GPU needed) -------------------------------------------------------------------

def test_device_has_type_and_index_as_in_torch():
    d = dl.device("cuda:1")
    assert d.type == "cuda" and d.index == 1 and str(d) == "cuda:1"
    assert repr(d) == "device(type='cuda', index=1)" and repr(dl.device("cpu")) == "device(type='cpu')"
    assert dl.device("cuda", 1) == d == dl.device(1) == dl.device(d) == "cuda:1"
    assert dl.device("cuda").index is None and dl.device("cpu:0").index == 0
    # equality compares both parts: an unindexed device is not device 0 (torch: cuda != cuda:0)
    assert dl.device("cuda") != dl.device("cuda:0") and dl.device("cuda:0") != dl.device("cuda:1")
    assert len({dl.device("cuda"), dl.device("cuda:0"), dl.device("cuda:1"), dl.device("cpu")}) == 4
    assert pickle.loads(pickle.dumps(d)) == d


def test_bad_device_arguments_raise_as_torch():
    with pytest.raises(RuntimeError, match="must not include an index because index was passed explicitly"):
        dl.device("cuda:0", 1)
    with pytest.raises(RuntimeError, match="must not be negative"):
        dl.device("cuda", -1)
    with pytest.raises(RuntimeError, match="must not be negative"):
        dl.device(-1)
    with pytest.raises(TypeError):
        dl.device(1.5)


def test_cpu_tensors_report_device_minus_one():
    x = dl.ones(2, device="cpu:0")
    assert x.device == dl.device("cpu") and x.get_device() == -1 and not x.is_cuda


@pytest.mark.skipif(dl.cuda.is_available(), reason="needs a machine without a usable GPU")
def test_cuda_device_management_without_gpu_raises_runtime_error():
    assert dl.cuda.device_count() == 0
    for call in (dl.cuda.current_device, lambda: dl.cuda.set_device(0), dl.cuda.Stream, dl.cuda.current_stream,
                 lambda: dl.ones(1, device="cuda:1")):
        with pytest.raises(RuntimeError, match="(?i)cuda"):
            call()


# ---- one device -----------------------------------------------------------------------------------

@one_device
def test_unindexed_cuda_means_the_current_device():
    x = dl.ones(3, device="cuda")
    assert x.device == dl.device("cuda", dl.cuda.current_device()) and x.get_device() == dl.cuda.current_device()
    assert x.to("cuda").data_ptr() == x.data_ptr() == x.cuda().data_ptr()  # already there: no copy
    assert f"device='cuda:{x.get_device()}'" in repr(x)


@one_device
def test_device_name_and_capability():
    assert isinstance(dl.cuda.get_device_name(), str) and dl.cuda.get_device_name(0) == dl.cuda.get_device_name("cuda:0")
    major, minor = dl.cuda.get_device_capability()
    assert major >= 7 and minor >= 0


@one_device
def test_out_of_range_device_index_is_refused():
    count = dl.cuda.device_count()
    with pytest.raises(RuntimeError, match=rf"invalid device ordinal: cuda:{count} requested but {count}"):
        dl.zeros(2, device=f"cuda:{count}")
    with pytest.raises(RuntimeError, match=rf"index {count} is out of range"):
        dl.cuda.set_device(count)
    with pytest.raises(ValueError, match="expected a CUDA device"):
        dl.cuda.set_device("cpu")


@one_device
def test_events_record_wait_query_and_time():
    start, end = dl.cuda.Event(enable_timing=True), dl.cuda.Event(enable_timing=True)
    assert start.query()  # never recorded: nothing to wait for
    start.record()
    y = dl.randn(64, 64, device="cuda") @ dl.randn(64, 64, device="cuda")
    end.record()
    end.synchronize()
    assert start.query() and end.query() and end.elapsed_time(end) == pytest.approx(0.0, abs=1e-3)
    assert start.elapsed_time(end) >= 0.0 and y.shape == (64, 64)
    untimed = dl.cuda.Event()
    untimed.record()
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        start.elapsed_time(untimed)
    with pytest.raises(RuntimeError, match="must be recorded"):
        dl.cuda.Event(enable_timing=True).elapsed_time(end)
    side = dl.cuda.Stream()
    side.wait_event(end)
    event = side.record_event()
    assert isinstance(event, dl.cuda.Event) and event.device == dl.device("cuda", side.device.index)
    event.wait()


@one_device
def test_stream_context_makes_the_stream_current_and_restores_it():
    default = dl.cuda.current_stream()
    assert default == dl.cuda.default_stream()
    side = dl.cuda.Stream()
    assert side != default and side.device == dl.device("cuda", dl.cuda.current_device())
    with dl.cuda.stream(side):
        assert dl.cuda.current_stream() == side
        y = dl.ones(4, device="cuda") * 3
    assert dl.cuda.current_stream() == default
    default.wait_stream(side)
    np.testing.assert_array_equal(y.cpu().numpy(), np.full(4, 3, np.float32))
    with dl.cuda.stream(None):  # a no-op, as in torch
        assert dl.cuda.current_stream() == default
    try:
        with dl.cuda.stream(side):
            raise KeyError("inside")
    except KeyError:
        pass
    assert dl.cuda.current_stream() == default


@one_device
def test_allocator_keeps_a_pool_per_stream():
    side = dl.cuda.Stream()
    nbytes = 3 << 20  # a size no other test's cached blocks are likely to match exactly
    with dl.cuda.stream(side):
        x = dl.empty(nbytes // 4, device="cuda")
    side_block = x.data_ptr()
    del x
    # a freed block returns to the pool of the stream it was allocated on: the default stream never
    # receives it (queued work on `side` may still use it), the side stream does
    y = dl.empty(nbytes // 4, device="cuda")
    assert y.data_ptr() != side_block
    with dl.cuda.stream(side):
        z = dl.empty(nbytes // 4, device="cuda")
    assert z.data_ptr() == side_block


@one_device
def test_record_stream_delays_reuse_until_the_stream_is_done():
    side = dl.cuda.Stream()
    before = dl.cuda.memory_allocated()
    x = dl.randn(1 << 18, device="cuda")
    side.wait_stream(dl.cuda.current_stream())
    with dl.cuda.stream(side):
        y = x * 2
    x.record_stream(side)
    y.record_stream(side)  # its own stream: nothing to record
    del x  # x's block waits for `side` before it can be reused; y stays allocated
    assert dl.cuda.memory_allocated() == before + (1 << 20)
    dl.cuda.synchronize()
    z = dl.randn(1 << 18, device="cuda")  # may reuse x's block once side's work completed
    assert z.shape == y.shape
    with pytest.raises(RuntimeError, match="expected a CUDA tensor"):
        dl.ones(2).record_stream(side)


# ---- two devices ----------------------------------------------------------------------------------

@two_devices
def test_tensors_remember_their_device_and_ops_stay_there():
    x = dl.randn(4, 5, device="cuda:1")
    assert x.device == dl.device("cuda:1") and x.get_device() == 1 and dl.cuda.current_device() == 0
    for y in (x * 2 + 1, x.sum(1), x @ x.t(), x.relu(), x.to(dl.float64), x[1:, ::2].contiguous()):
        assert y.device == dl.device("cuda:1")
    np.testing.assert_allclose((x * 2).cpu().numpy(), x.cpu().numpy() * 2)
    assert dl.randn(2).cuda(1).device == dl.device("cuda:1") and dl.randn(2).to(1).get_device() == 1


@two_devices
def test_ops_across_devices_name_both():
    a, b = dl.ones(2, 2, device="cuda:0"), dl.ones(2, 2, device="cuda:1")
    for call in (lambda: a + b, lambda: a @ b, lambda: dl.nn.functional.linear(a, b),
                 lambda: dl.nn.functional.conv2d(a.reshape(1, 1, 2, 2), b.reshape(1, 1, 2, 2))):
        with pytest.raises(RuntimeError, match=r"same device.*cuda:0.*cuda:1"):
            call()


@two_devices
def test_copies_between_devices_keep_values():
    values = np.random.default_rng(0).standard_normal((6, 7)).astype(np.float32)
    on0 = dl.tensor(values, device="cuda:0")
    on1 = on0.to("cuda:1")
    assert on1.device == dl.device("cuda:1")
    np.testing.assert_array_equal(on1.cpu().numpy(), values)
    target = dl.zeros(7, 6, device="cuda:0")
    target.copy_(on1.t())  # strided source on another device
    np.testing.assert_array_equal(target.cpu().numpy(), values.T)
    np.testing.assert_array_equal(on1.to("cuda:0").to("cpu").numpy(), values)


@two_devices
def test_current_device_context_and_set_device():
    assert dl.cuda.current_device() == 0
    with dl.cuda.device(1):
        assert dl.cuda.current_device() == 1 and dl.ones(1, device="cuda").get_device() == 1
        with dl.cuda.device("cuda:0"):
            assert dl.cuda.current_device() == 0
        assert dl.cuda.current_device() == 1
    assert dl.cuda.current_device() == 0
    with dl.cuda.device_of(dl.ones(1, device="cuda:1")):
        assert dl.cuda.current_device() == 1
    dl.cuda.set_device(1)
    try:
        assert dl.zeros(1, device="cuda").device == dl.device("cuda:1")
        assert dl.cuda.current_stream().device == dl.device("cuda:1")
    finally:
        dl.cuda.set_device(0)


@two_devices
def test_streams_belong_to_their_device():
    side = dl.cuda.Stream(device=1)
    assert side.device == dl.device("cuda:1") and dl.cuda.current_stream(1) == dl.cuda.default_stream(1)
    with dl.cuda.stream(side):  # makes the stream's device current too, and restores both
        assert dl.cuda.current_device() == 1 and dl.cuda.current_stream() == side
        assert dl.cuda.current_stream(0) == dl.cuda.default_stream(0)
    assert dl.cuda.current_device() == 0 and dl.cuda.current_stream(1) == dl.cuda.default_stream(1)
    on0 = dl.cuda.Event()
    on0.record(dl.cuda.current_stream(0))
    with pytest.raises(RuntimeError, match="recorded on cuda:0 and cannot be recorded on a stream of cuda:1"):
        on0.record(side)
    on0.wait(side)  # waiting across devices is allowed
    with pytest.raises(RuntimeError, match="the tensor is on cuda:0 and the stream on cuda:1"):
        dl.ones(2, device="cuda:0").record_stream(side)


@two_devices
def test_memory_statistics_are_per_device():
    before0, before1 = dl.cuda.memory_allocated(0), dl.cuda.memory_allocated("cuda:1")
    x = dl.empty(1 << 18, device="cuda:1")
    assert dl.cuda.memory_allocated(1) == before1 + (1 << 20) and dl.cuda.memory_allocated(0) == before0
    assert dl.cuda.memory_reserved(1) >= dl.cuda.memory_allocated(1)
    dl.cuda.reset_peak_memory_stats(1)
    assert dl.cuda.max_memory_allocated(1) == dl.cuda.memory_allocated(1)
    del x
    assert dl.cuda.memory_allocated(1) == before1
    dl.cuda.empty_cache()
    dl.cuda.synchronize(1)


@two_devices
def test_training_step_on_the_second_device_matches_the_cpu():
    # the current device stays 0 throughout: every kernel must run on the device of its tensors
    dl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    reference = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    reference.load_state_dict(model.state_dict())
    model.to("cuda:1")
    x = dl.randn(5, 1, 8, 8)
    target = dl.tensor([0, 1, 2, 1, 0])
    losses = []
    for net, device in ((model, "cuda:1"), (reference, "cpu")):
        optimizer = dl.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(x.to(device)), target.to(device))
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
        assert all(p.device == dl.device(device) and p.grad.device == dl.device(device) for p in net.parameters())
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items()):
        np.testing.assert_allclose(a.cpu().numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


@two_devices
def test_cuda_graph_on_the_second_device():
    static_x = dl.randn(8, 4, device="cuda:1")
    weight = dl.randn(4, 3, device="cuda:1")
    graph = dl.cuda.CUDAGraph()
    with dl.cuda.device(1):
        side = dl.cuda.Stream()
        with dl.cuda.stream(side), dl.cuda.graph(graph):
            static_y = (static_x @ weight).relu()
    assert static_y.device == dl.device("cuda:1") and dl.cuda.current_device() == 0
    for seed in range(2):
        x = dl.randn(8, 4, device="cuda:1") + seed
        static_x.copy_(x)
        graph.replay()
        np.testing.assert_allclose(static_y.cpu().numpy(), np.maximum(x.cpu().numpy() @ weight.cpu().numpy(), 0),
                                   rtol=1e-5, atol=1e-5)
