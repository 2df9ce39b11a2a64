"""The batch-size sweep (python -m dlcore.sweep) on a tiny budget of real MNIST: one row per (device,
batch size) in sweep.json and sweep.md, a plot that is not blank, and one-line usage errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import dlcore as dl
from dlcore.cli import run_script
from dlcore.sweep import main

BATCH_SIZES = [1, 4, 8]


def image_variance(path: Path) -> float:
    import matplotlib.image  # noqa: PLC0415

    return float(np.asarray(matplotlib.image.imread(path), dtype=np.float64).std())


def test_tiny_sweep_writes_one_row_per_device_and_batch(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    assert main(["--batch-sizes", ",".join(map(str, BATCH_SIZES)), "--budget", "32", "--warmup-steps", "1",
                 "--limit", "64", "--threads", "1", "--data", str(data_dir), "--out", str(out)]) == 0
    result = json.loads((out / "sweep.json").read_text())
    devices = ["cpu", "cuda"] if dl.cuda.is_available() else ["cpu"]
    assert [(r["device"], r["batch_size"]) for r in result["rows"]] == [(d, b) for d in devices for b in BATCH_SIZES]
    for row in result["rows"]:
        assert row["images"] == 32  # the same budget for every batch size
        assert row["steps"] == 32 // row["batch_size"]
        assert row["median_step_seconds"] > 0
        assert row["images_per_second"] == pytest.approx(row["batch_size"] / row["median_step_seconds"])
        assert row["epoch_seconds_extrapolated"] == pytest.approx(
            row["median_step_seconds"] * -(-60000 // row["batch_size"]))
        assert 0.0 <= row["test_accuracy"] <= 100.0 and row["test_images"] == 64
        assert len(row["per_class_accuracy"]) >= 1
    table = (out / "sweep.md").read_text()
    assert len([line for line in table.splitlines() if line.startswith("| cpu |")]) == len(BATCH_SIZES)
    assert f"{result['rows'][0]['test_accuracy']:.2f}" in table
    assert image_variance(out / "sweep.png") > 0.01


@pytest.mark.parametrize("argv, message", [
    (["--batch-sizes", "1,0"], "positive integer"),
    (["--budget", "64", "--batch-sizes", "64", "--warmup-steps", "5"], "raise the budget"),
])
def test_bad_arguments_are_usage_errors(argv: list[str], message: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_device_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_script(main, ["--devices", "tpu", "--out", str(tmp_path)], prog="sweep") == 2
    assert capsys.readouterr().err.strip() == "sweep: error: --devices 'tpu': expected a comma-separated list of cpu, cuda"


@pytest.mark.skipif(dl.cuda.is_available(), reason="a GPU is usable here")
def test_cuda_without_a_gpu_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_script(main, ["--devices", "cpu,cuda", "--out", str(tmp_path)], prog="sweep") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sweep: error: --devices cpu,cuda: cuda requested but") and "\n" not in err
