"""The main job end to end on real MNIST: it learns, it resumes, it fails politely without data."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "python" / "train_mnist.py"


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--no-progress", "--threads", "2", *args],
                          capture_output=True, text=True, timeout=600, **kw)


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_few_hundred_steps_reach_95_percent(data_dir: Path, tmp_path: Path) -> None:
    # 320 steps of batch 64 (20480 images) at a constant rate, evaluated on the 10000 test images.
    out = tmp_path / "run"
    proc = run(["--data", str(data_dir), "--epochs", "1", "--limit", "20480", "--out", str(out), "--seed", "1",
                "--schedule", "none"])
    assert proc.returncode == 0, proc.stderr
    (record,) = metrics(out)
    assert record["test_accuracy"] >= 95.0, record
    assert record["train_loss"] < 1.0  # mean over the epoch, first steps included and record["images_per_second"] > 0
    assert (out / "checkpoint.safetensors").exists()


def test_resume_continues_where_it_stopped(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    # A constant rate: a schedule's length depends on --epochs, which differs between the two runs.
    common = ["--data", str(data_dir), "--limit", "2048", "--schedule", "none", "--out", str(out), "--seed", "3"]
    assert run([*common, "--epochs", "1"]).returncode == 0
    proc = run([*common, "--epochs", "2", "--resume", str(out / "checkpoint.safetensors")])
    assert proc.returncode == 0, proc.stderr
    assert "resumed from" in proc.stdout
    assert [r["epoch"] for r in metrics(out)] == [1, 2]
    # Uninterrupted two-epoch run from the same seed ends at the same test loss.
    straight = tmp_path / "straight"
    assert run([*common[:-4], "--out", str(straight), "--seed", "3", "--epochs", "2"]).returncode == 0
    assert metrics(straight)[-1]["test_loss"] == pytest.approx(metrics(out)[-1]["test_loss"], rel=1e-5)


def test_missing_dataset_exits_2_with_a_message(tmp_path: Path) -> None:
    proc = run(["--data", str(tmp_path / "nowhere"), "--epochs", "1", "--out", str(tmp_path / "o")])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "nowhere" in proc.stderr and "MNIST" in proc.stderr
