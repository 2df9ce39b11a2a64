# Tests of baseline_torch.profile: TensorBoard event files (scalars + graph), the profiler's top-10
# operator table and the batch-size sweep are all written for a short CPU run on real MNIST.
from __future__ import annotations

import json

import pytest  # noqa: E402

from baseline_torch import profile  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def test_profile_tool_writes_tensorboard_profiler_and_sweep(tmp_path, data_dir):
    out = tmp_path / "profile"
    rc = profile.main(["--device", "cpu", "--limit", "256", "--threads", "1", "--sweep", "1,16,64",
                       "--profile-steps", "3", "--data", str(data_dir), "--out", str(out)])
    assert rc == 0
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    accumulator = EventAccumulator(str(out / "tensorboard"))
    accumulator.Reload()
    assert "test/accuracy" in accumulator.Tags()["scalars"]
    assert accumulator.Tags()["graph"]
    result = json.loads((out / "profile.json").read_text())
    top = result["profiles"][0]["top10"]
    assert 0 < len(top) <= 10 and any("conv" in row["operator"] for row in top)
    assert [r["batch_size"] for r in result["batch_size_sweep"]] == [1, 16, 64]
    assert (out / "profile_top10_cpu.txt").read_text().count("aten::") >= 5
    assert (out / "batch_size_sweep.png").stat().st_size > 0
