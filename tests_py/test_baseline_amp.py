# Tests of baseline_torch.amp: LeNet trains in fp32, bf16 and fp16 (autocast + GradScaler) on the
# CPU on a slice of real MNIST and the tool writes its table, JSON and chart; CPU fp16 is opt-in.
from __future__ import annotations

import json

import pytest  # noqa: E402
import torch  # noqa: E402

from baseline_torch import amp  # noqa: E402
from baseline_torch.train_loop import autocast_context  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def test_autocast_context_changes_the_compute_dtype():
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
        with autocast_context(precision, torch.device("cpu")):
            assert layer(x).dtype == dtype


def test_cpu_fp16_is_opt_in():
    cpu = torch.device("cpu")
    assert amp.precision_support("fp16", cpu, cpu_fp16=False) != ""
    assert amp.precision_support("fp16", cpu, cpu_fp16=True) == ""
    assert amp.precision_support("bf16", cpu, cpu_fp16=False) == ""


def test_amp_tool_runs_three_precisions(tmp_path, data_dir):
    out = tmp_path / "amp"
    rc = amp.main(["--device", "cpu", "--epochs", "1", "--limit", "256", "--batch-size", "64",
                   "--threads", "1", "--models", "lenet", "--cpu-fp16", "--data", str(data_dir),
                   "--out", str(out)])
    assert rc == 0
    result = json.loads((out / "amp.json").read_text())
    rows = {row["precision"]: row for row in result["summary"]}
    assert set(rows) == {"fp32", "fp16", "bf16"} and all(r["status"] == "ok" for r in rows.values())
    for row in rows.values():
        assert row["seconds_per_epoch"] > 0 and 0 <= row["final_test_accuracy"] <= 100
    assert (out / "amp.png").stat().st_size > 0 and (out / "amp.md").exists()
