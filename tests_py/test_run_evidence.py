"""What a trainer run leaves in --out, on real MNIST with --limit: TensorBoard events that
tensorboard's reader parses (scalars, histograms, the graph), PNGs that are not blank, utilisation
samples, the per-class evaluation; the non-empty --out policy; the checkpoint-then-metrics order,
so a run killed between the two resumes without a duplicated or missing epoch; and a finished run
that, resumed, has nothing left to do."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dlcore.evidence import UtilisationSampler, read_metrics, read_utilisation, reconcile_metrics
from dlcore.evidence.run_dir import write_metrics

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "python" / "train_mnist.py"


def run(args: list[str], hide: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """train_mnist.py with ``args``; ``hide`` names modules the run must see as not installed."""
    code = textwrap.dedent(f"""
        import runpy, sys
        for name in {list(hide)!r}:
            sys.modules[name] = None
        sys.argv = ["train_mnist.py", "--no-progress", "--threads", "2", "--device", "cpu", *{args!r}]
        runpy.run_path({str(SCRIPT)!r}, run_name="__main__")
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def epochs(out: Path) -> list[int]:
    return [r["epoch"] for r in read_metrics(out / "metrics.jsonl")]


def test_a_run_leaves_its_evidence(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    matplotlib_image = pytest.importorskip("matplotlib.image")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    proc = run(["--data", str(data_dir), "--limit", "640", "--epochs", "2", "--log-interval", "4", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert sum(line.startswith(f"outputs: {out}/") for line in lines) == 2  # at the start and at the end
    assert lines[-1].startswith(f"outputs: {out}/") and f"tensorboard --logdir {out}" in lines[-1]

    records = read_metrics(out / "metrics.jsonl")
    events = EventAccumulator(str(out), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    steps_per_epoch = 10  # 640 images in batches of 64
    test_accuracy = events.Scalars("accuracy/test")
    assert [(e.step, e.value) for e in test_accuracy] == \
        [(steps_per_epoch * r["epoch"], pytest.approx(r["test_accuracy"])) for r in records]
    for tag in ("loss/train", "loss/test", "accuracy/train", "learning_rate/epoch_end",
                "throughput/images_per_second", "test_per_class_accuracy/7 - seven"):
        assert len(events.Scalars(tag)) == 2, tag
    # --log-interval 4: steps 0, 4, 8 of each epoch, logged as global steps 1, 5, 9, 11, 15, 19
    assert [e.step for e in events.Scalars("loss/train_step")] == [1, 5, 9, 11, 15, 19]
    assert all(0 < e.value < 5 for e in events.Scalars("loss/train_step"))
    assert len(events.Scalars("learning_rate/step")) == 6
    assert events.Scalars("utilisation/rss_gib") and events.Scalars("utilisation/cpu_percent")
    histograms = events.Tags()["histograms"]
    assert "weights/conv1.weight" in histograms and "gradients/fc3.bias" in histograms
    conv = events.Histograms("weights/conv1.weight")[-1].histogram_value
    assert conv.num == 6 * 25 and sum(conv.bucket) == 150
    assert {n.op for n in events.Graph().node} >= {"dlcore::conv2d_relu", "dlcore::max_pool2d", "Linear"}

    evaluation = json.loads((out / "test_evaluation.json").read_text())
    matrix = np.array(evaluation["confusion_matrix"])
    assert matrix.sum() == 640 and evaluation["epoch"] == 2
    assert 100.0 * np.trace(matrix) / 640 == pytest.approx(records[-1]["test_accuracy"])
    assert len(evaluation["per_class_accuracy"]) == 10

    sessions, samples = read_utilisation(out / "utilisation.jsonl")
    assert len(sessions) == 1 and sessions[0]["gpu"].startswith("unavailable")
    assert samples and all(s.rss_bytes > 0 and s.process_cpu_percent >= 0 for s in samples)

    for name in ("curves", "per_class_accuracy", "confusion_matrix", "misclassified"):
        pixels = matplotlib_image.imread(out / "plots" / f"{name}.png")
        assert pixels.shape[0] > 300 and pixels.shape[1] > 500, name
        assert pixels[..., :3].std() > 0.05, f"{name}.png is blank"


def test_a_fresh_run_refuses_a_non_empty_out(tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"epoch": 1}\n')
    proc = run(["--data", str(tmp_path / "nodata"), "--out", str(out)])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    message = proc.stderr.strip().splitlines()[-1]
    assert f"--out {out} already holds a run (metrics.jsonl)" in message
    assert f"--resume {out / 'checkpoint.safetensors'}" in message and "nodata" not in proc.stderr
    assert (out / "metrics.jsonl").read_text() == '{"epoch": 1}\n' and len(list(out.iterdir())) == 1
    (tmp_path / "file").write_text("")
    proc = run(["--data", str(tmp_path / "nodata"), "--out", str(tmp_path / "file")])
    assert proc.returncode == 2 and "is a file, not a directory" in proc.stderr


def test_kill_between_checkpoint_and_metrics_then_resume(data_dir: Path, tmp_path: Path) -> None:
    # Both optional packages hidden: the run says in one line each what it skips and carries on.
    out = tmp_path / "run"
    common = ["--data", str(data_dir), "--limit", "256", "--schedule", "none", "--out", str(out)]
    proc = run([*common, "--epochs", "2"], hide=("tensorboard", "matplotlib"))
    assert proc.returncode == 0, proc.stderr
    assert "note: TensorBoard logging skipped: this needs tensorboard, which is not installed: " \
           "pip install 'dlcore[baseline]'" in proc.stderr
    assert "note: plots skipped: this needs matplotlib" in proc.stderr
    assert not list(out.glob("events.out.tfevents.*")) and not (out / "plots").exists()
    finished = read_metrics(out / "metrics.jsonl")
    assert [r["epoch"] for r in finished] == [1, 2]
    # kill -9 after epoch 2's checkpoint, before its metrics line (which was being written: torn).
    (out / "metrics.jsonl").write_text(json.dumps(finished[0]) + "\n" + json.dumps(finished[1])[:25])

    checkpoint = str(out / "checkpoint.safetensors")
    proc = run([*common, "--epochs", "3", "--resume", checkpoint, "--no-tensorboard", "--no-plots"])
    assert proc.returncode == 0, proc.stderr
    assert "recovered the metrics of epoch 2 from the checkpoint" in proc.stdout
    records = read_metrics(out / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[1] == finished[1]  # the very line the killed run would have written

    proc = run([*common, "--epochs", "3", "--resume", checkpoint])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"nothing left to do: {checkpoint} has finished epoch 3 and --epochs is 3 " \
                                  "(pass a larger --epochs to train further)"
    assert read_metrics(out / "metrics.jsonl") == records


def test_reconcile_keeps_each_finished_epoch_once(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    # The old order (metrics, then checkpoint) killed in between, then resumed: epoch 2 twice.
    write_metrics(path, [{"epoch": 1, "v": 1}, {"epoch": 2, "v": 2}, {"epoch": 2, "v": 3}, {"epoch": 3, "v": 4}])
    assert reconcile_metrics(path, 2, {"epoch": 2, "v": 9}) is None
    assert read_metrics(path) == [{"epoch": 1, "v": 1}, {"epoch": 2, "v": 2}]
    assert reconcile_metrics(path, 3, {"epoch": 3, "v": 5}) == {"epoch": 3, "v": 5}
    assert [r["v"] for r in read_metrics(path)] == [1, 2, 5]
    before = path.stat().st_mtime_ns
    assert reconcile_metrics(path, 3, {"epoch": 3, "v": 6}) is None and path.stat().st_mtime_ns == before
    assert reconcile_metrics(tmp_path / "new.jsonl", 1, None) is None and read_metrics(tmp_path / "new.jsonl") == []


def test_sampler_records_and_stops_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # as without nvidia-ml-py: recorded, never an error
    step = [0]
    sampler = UtilisationSampler(lambda: step[0], use_gpu=True, interval=0.02)
    with sampler:
        deadline = time.monotonic() + 5
        while len(sampler.samples) < 3 and time.monotonic() < deadline:
            step[0] += 1
            sum(i * i for i in range(20000))  # some CPU work to measure
    assert not sampler.thread and sampler.gpu_status == "unavailable: nvidia-ml-py (pynvml) is not installed"
    samples = sampler.drain()
    assert len(samples) >= 3 and sampler.drain() == []
    assert all(s.gpu_percent is None and s.gpu_memory_bytes is None and s.gpu_power_watts is None for s in samples)
    if os.path.exists("/proc/stat"):
        assert all(0.0 <= s.cpu_percent <= 100.0 and s.rss_bytes > 1 << 20 for s in samples)
    assert [s.step for s in samples] == sorted(s.step for s in samples)
    with pytest.raises(ValueError, match="interval must be > 0"):
        UtilisationSampler(lambda: 0, use_gpu=False, interval=0)


def test_gpu_readings_come_from_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU here: a stand-in for nvidia-ml-py's module checks what the reader asks and converts.
    import types
    from dlcore.evidence.utilisation import GpuReader

    class NVMLError(Exception):
        pass

    calls: list[str] = []
    fake = types.SimpleNamespace(
        NVMLError=NVMLError, nvmlInit=lambda: calls.append("init"), nvmlShutdown=lambda: calls.append("shutdown"),
        nvmlDeviceGetHandleByIndex=lambda index: calls.append(f"handle {index}") or "gpu",
        nvmlDeviceGetName=lambda handle: b"NVIDIA H200",
        nvmlDeviceGetUtilizationRates=lambda handle: types.SimpleNamespace(gpu=87, memory=40),
        nvmlDeviceGetMemoryInfo=lambda handle: types.SimpleNamespace(used=3 << 30, total=141 << 30),
        nvmlDeviceGetPowerUsage=lambda handle: 412_500)  # milliwatts
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    reader = GpuReader(use_gpu=True)
    assert reader.status == "NVIDIA H200" and calls == ["init", "handle 2"]  # CUDA's device 0 is GPU 2
    assert reader.read() == (87.0, 3 << 30, 412.5)
    reader.close()
    assert calls[-1] == "shutdown" and reader.read() == (None, None, None)

    def failing_init() -> None:
        raise NVMLError("Driver Not Loaded")

    fake.nvmlInit = failing_init
    assert GpuReader(use_gpu=True).status == "unavailable: NVML failed (Driver Not Loaded)"
    assert GpuReader(use_gpu=False).status == "unavailable: the run does not use a GPU"


def test_profile_flag_writes_the_top10_table_and_a_chrome_trace(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run(["--data", str(data_dir), "--epochs", "2", "--limit", "512", "--profile", "3", "--out", str(out),
                "--no-plots", "--no-tensorboard"])
    assert proc.returncode == 0, proc.stderr
    table = (out / "profile_top10.txt").read_text()
    rows = [line for line in table.splitlines() if line.strip() and not line.startswith(("-", "Self CPU time"))]
    assert len(rows) == 1 + 10, table  # the header and row_limit=10 rows
    assert "dlcore::conv2d_relu" in table and "Conv2dReluBackward" in table, table
    events = json.loads((out / "trace.json").read_text())["traceEvents"]
    steps = sorted(e["name"] for e in events if e["name"].startswith("ProfilerStep#"))
    assert steps == ["ProfilerStep#1", "ProfilerStep#2", "ProfilerStep#3"]  # after one warm-up step
    complete = [e for e in events if e["ph"] == "X"]  # the rest: "M" metadata (process and thread names)
    assert len(complete) > 50 and all(e["dur"] >= 0 for e in complete)
    assert {e["ph"] for e in events} == {"X", "M"}
    assert epochs(out) == [1, 2]  # the profiled epoch is an ordinary one
