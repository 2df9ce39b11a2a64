"""dlcore.profiler against torch.profiler's API: a LeNet training step's table and Chrome trace,
record_function ranges, schedules, and what happens outside (or inside another) profile."""
from __future__ import annotations

import json

import pytest

import dlcore as dl
import dlcore.nn.functional as F
from dlcore.models import LeNet5
from dlcore.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule


def lenet_step(model, optimizer, batch: int = 4) -> None:
    x = dl.randn(batch, 1, 28, 28)
    y = dl.tensor([i % 10 for i in range(batch)])
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()


@pytest.fixture
def trained_profile():
    dl.manual_seed(0)
    model = LeNet5()
    optimizer = dl.optim.SGD(model.parameters(), lr=0.01)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("train_step"):
            lenet_step(model, optimizer)
    return prof


def test_table_lists_a_lenet_steps_top_ops(trained_profile):
    averages = {e.key: e for e in trained_profile.key_averages()}
    for name in ["dlcore::conv2d_relu", "dlcore::linear_relu", "dlcore::linear", "dlcore::max_pool2d",
                 "dlcore::cross_entropy", "Conv2dReluBackward", "LinearReluBackward", "MaxPool2dBackward",
                 "AccumulateGrad", "Optimizer.step#SGD.step", "train_step"]:
        assert name in averages, name
        assert averages[name].cpu_time_total > 0, name
    assert averages["dlcore::conv2d_relu"].count == 2 and averages["Conv2dReluBackward"].count == 2
    assert averages["dlcore::linear_relu"].count == 2 and averages["AccumulateGrad"].count == 10
    table = trained_profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)
    lines = table.splitlines()
    for column in ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]:
        assert column in lines[1]
    assert "Self CUDA" not in lines[1] and "Input Shapes" not in lines[1]
    assert len(lines) == 3 + 10 + 2 and lines[-1].startswith("Self CPU time total: ")
    self_times = [e.self_cpu_time_total for e in
                  sorted(trained_profile.key_averages(), key=lambda e: -e.self_cpu_time_total)[:10]]
    assert self_times == sorted(self_times, reverse=True) and self_times[-1] > 0
    shaped = trained_profile.key_averages(group_by_input_shape=True)
    conv1 = [e for e in shaped if e.key == "dlcore::conv2d_relu" and e.input_shapes[0] == [4, 1, 28, 28]]
    assert len(conv1) == 1 and conv1[0].input_shapes[1] == [6, 1, 5, 5]
    assert "Input Shapes" in shaped.table(row_limit=3).splitlines()[1]


def test_self_time_excludes_children(trained_profile):
    for event in trained_profile.events():
        children = sum(c.cpu_time_total for c in event.cpu_children)
        assert event.self_cpu_time_total == pytest.approx(event.cpu_time_total - children)
        assert event.self_cpu_time_total >= -1e-6
    step = next(e for e in trained_profile.events() if e.name == "train_step")
    assert step.cpu_parent is None and step.cpu_children
    assert step.cpu_time_total >= sum(c.cpu_time_total for c in step.cpu_children)


def test_chrome_trace_is_complete_events_with_consistent_times(trained_profile, tmp_path):
    path = tmp_path / "trace.json"
    trained_profile.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(events) == len(trained_profile.events())
    for e in events:
        assert {"name", "cat", "pid", "tid", "ts", "dur", "args"} <= e.keys() and e["dur"] >= 0
    starts = [e["ts"] for e in events]
    assert starts == sorted(starts)
    step = next(e for e in events if e["name"] == "train_step")
    assert step["cat"] == "user_annotation"
    for e in events:  # every op of the step lies inside the range on the same thread
        if e is not step and e["tid"] == step["tid"]:
            assert step["ts"] <= e["ts"] and e["ts"] + e["dur"] <= step["ts"] + step["dur"] + 0.01
    conv = next(e for e in events if e["name"] == "dlcore::conv2d_relu")
    assert conv["args"]["Input Dims"][0] == [4, 1, 28, 28]


def test_record_function_ranges_nest_and_decorate():
    @record_function("decorated")
    def work(x):
        return (x * 2).sum()

    x = dl.randn(3, 3)
    with profile() as prof:
        with record_function("outer"):
            with record_function("inner"):
                work(x)
    by_name = {e.name: e for e in prof.events()}
    assert by_name["inner"].cpu_parent is by_name["outer"]
    assert by_name["decorated"].cpu_parent is by_name["inner"]
    assert by_name["dlcore::mul"].cpu_parent is by_name["decorated"]
    assert by_name["outer"].time_range.start <= by_name["inner"].time_range.start
    assert by_name["inner"].time_range.end <= by_name["outer"].time_range.end


def test_schedule_matches_torch():
    torch_profiler = pytest.importorskip("torch.profiler")
    for kwargs in [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=2, active=1, repeat=2, skip_first=3),
                   dict(wait=2, warmup=1, active=1, skip_first=1, skip_first_wait=1)]:
        ours, theirs = schedule(**kwargs), torch_profiler.schedule(**kwargs)
        assert [ours(s).name for s in range(16)] == [theirs(s).name for s in range(16)], kwargs
    with pytest.raises(AssertionError):
        schedule(wait=0, warmup=0, active=0)


def test_schedule_records_only_active_steps():
    traces = []
    x = dl.randn(4)
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=1),
                 on_trace_ready=lambda p: traces.append(list(p.events()))) as prof:
        for step in range(6):
            with record_function(f"step{step}"):
                x + x
            prof.step()
    assert prof.current_action == ProfilerAction.NONE
    assert len(traces) == 1
    names = {e.name for e in traces[0]}
    assert {"step2", "step3", "ProfilerStep#2", "ProfilerStep#3", "dlcore::add"} <= names
    assert not names & {"step0", "step1", "step4", "step5", "ProfilerStep#4"}


def test_nothing_is_recorded_when_not_profiling():
    x = dl.randn(4)
    prof = profile()
    x + x
    assert len(prof.events()) == 0 and not dl._C.profiler.is_running()
    with profile() as prof:
        pass
    assert len(prof.events()) == 0
    assert prof.key_averages().table() == ""


def test_nested_profile_raises_runtime_error():
    with profile() as outer:
        with pytest.raises(RuntimeError, match="already running"):
            with profile():
                pass
        dl.randn(2) * 2
    assert "dlcore::mul" in {e.name for e in outer.events()}


def test_tensorboard_trace_handler_writes_a_trace(tmp_path):
    from dlcore.profiler import tensorboard_trace_handler
    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path), worker_name="w")):
        dl.randn(2) + 1
    (written,) = tmp_path.glob("w.*.pt.trace.json")
    assert any(e["name"] == "dlcore::add" for e in json.loads(written.read_text())["traceEvents"])


def test_cuda_columns_and_device_times():
    if not dl.cuda.is_available():
        pytest.skip("no CUDA device")
    model = LeNet5().to("cuda")
    optimizer = dl.optim.SGD(model.parameters(), lr=0.01)
    x, y = dl.randn(4, 1, 28, 28).to("cuda"), dl.tensor([1, 2, 3, 4]).to("cuda")
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    conv = next(e for e in prof.key_averages() if e.key == "dlcore::conv2d_relu")
    assert conv.device_time_total > 0
    header = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=5).splitlines()[1]
    assert "Self CUDA" in header and "CUDA total" in header


def test_ops_outside_the_op_table_are_recorded_under_their_names():
    x = dl.rand(4, 5)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        dl.sort(x, dim=1)
        dl.topk(x, 2)
        dl.cumsum(x, 0)
        dl.matmul(x, x.transpose(0, 1))
        dl.einsum("ij,kj->ik", x, x)
        dl.var(x, 1)
        dl.logsumexp(x, 0)
        dl.flip(x, (0,))
        dl.nn.LayerNorm(5)(x)
    names = {e.name for e in prof.events()}
    for op in ("sort", "topk", "cumsum", "matmul", "einsum", "var", "logsumexp", "flip", "layer_norm"):
        assert f"dlcore::{op}" in names, (op, sorted(names))
