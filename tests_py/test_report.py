"""python -m dlcore.report on small real inputs: a dlcore run made by the trainer, a hand-written run
in the trainer's format, a tiny sweep and the committed baseline_torch comparison. Its tables carry
those runs' numbers, its figures are drawn and not blank, a missing GPU run is reported as missing,
and report.html needs no other file."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dlcore as dl
from dlcore.cli import run_script
from dlcore.report.__main__ import main
from dlcore.report.formatting import num

REPO = Path(__file__).resolve().parents[1]
# A run that over-fits from epoch 3: test loss lowest at epoch 2, rising after while the train loss falls.
OVERFIT_LOSSES = [(0.90, 0.50), (0.40, 0.30), (0.20, 0.33), (0.10, 0.41)]


def write_run(out: Path, losses: list[tuple[float, float]], *, repeat_first: bool = False) -> list[dict]:
    """A dlcore run directory with dlcore.training's config.json and metrics.jsonl keys."""
    out.mkdir(parents=True)
    config = {"batch_size": 64, "test_batch_size": 1000, "epochs": len(losses), "lr": 0.01, "momentum": 0.9,
              "optimizer": "sgd", "schedule": "cosine", "seed": 7, "device": "cpu", "threads": 1, "limit": 512}
    (out / "config.json").write_text(json.dumps(config))
    records = [{"epoch": e, "train_loss": train, "test_loss": test, "test_accuracy": 90.0 + e + 0.125,
                "seconds": 0.5 + 0.01 * e, "images_per_second": 512 / (0.5 + 0.01 * e),
                "peak_memory_bytes": (200 + e) * 2**20, "device": "cpu", "framework": "dlcore"}
               for e, (train, test) in enumerate(losses, 1)]
    lines = [json.dumps(r) for r in ([records[0]] if repeat_first else []) + records]
    (out / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (out / "tensorboard").mkdir()  # other evidence beside the metrics is tolerated
    return records


def image_variance(path: Path) -> float:
    import matplotlib.image  # noqa: PLC0415

    return float(np.asarray(matplotlib.image.imread(path), dtype=np.float64).std())


def mnist_root() -> Path:
    """$DLCORE_DATA, under conftest's rule (skip without it, fail with DLCORE_REQUIRE_DATA=1), for a
    module-scoped fixture, which cannot use the function-scoped data_dir."""
    root = os.environ.get("DLCORE_DATA", "")
    if not (root and Path(root).is_dir()):
        message = f"dataset directory not available (DLCORE_DATA={root!r})"
        if os.environ.get("DLCORE_REQUIRE_DATA") == "1":
            pytest.fail(message + " but DLCORE_REQUIRE_DATA=1")
        pytest.skip(message)
    return Path(root)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = mnist_root()
    root = tmp_path_factory.mktemp("report")
    trained = root / "trained"
    proc = subprocess.run([sys.executable, str(REPO / "python" / "train_mnist.py"), "--limit", "256", "--epochs", "2",
                           "--threads", "1", "--device", "cpu", "--no-progress", "--data", str(data_dir),
                           "--out", str(trained)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    handwritten = write_run(root / "handwritten", OVERFIT_LOSSES, repeat_first=True)
    (root / "handwritten" / "profile_top10.txt").write_text("Name  Self CPU %\nconv2d_forward_marker  40.00%\n")
    from dlcore.sweep import main as sweep  # noqa: PLC0415

    assert sweep(["--batch-sizes", "2,8", "--budget", "16", "--warmup-steps", "1", "--limit", "64", "--threads", "1",
                  "--data", str(data_dir), "--out", str(root / "sweep")]) == 0
    out = root / "out"
    assert main([str(trained), str(root / "handwritten"), str(root / "sweep"),
                 str(REPO / "baseline_torch" / "results" / "cpu" / "compare"), "-o", str(out)]) == 0
    trained_records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    return {"out": out, "md": (out / "REPORT.md").read_text(), "html": (out / "report.html").read_text(),
            "trained": trained_records, "handwritten": handwritten,
            "sweep": json.loads((root / "sweep" / "sweep.json").read_text())}


def test_tables_carry_the_runs_numbers(report: dict) -> None:
    md = report["md"]
    for records in (report["trained"], report["handwritten"]):
        assert f"| {num(records[-1]['test_accuracy'])} |" in md  # final test accuracy
        assert f"| {num(sorted(r['seconds'] for r in records)[0], 3)} |" in md  # fastest epoch
    for row in report["sweep"]["rows"]:
        assert f"| {num(1e3 * row['median_step_seconds'], 3)} | {num(row['images_per_second'], 0)} |" in md
    compare = json.loads((REPO / "baseline_torch/results/cpu/compare/compare.json").read_text())
    dl_median = compare["summary"][0]["median_seconds_per_epoch"]
    torch_median = compare["summary"][1]["median_seconds_per_epoch"]
    assert f"dlcore is {torch_median / dl_median:.2f}x faster than PyTorch" in md  # computed, not canned


def test_sections_and_computed_discussion(report: dict) -> None:
    md = report["md"]
    for heading in ("## Background", "## Method", "## Results", "## Discussion", "## Conclusion"):
        assert heading in md
    assert re.search(r"- dlcore \S*handwritten: over-fitting begins at epoch 3: the test loss is lowest at epoch 2 "
                     r"\(0\.3000\) and reaches 0\.4100 \(\+36\.7%\) by epoch 4", md)
    assert "epoch 1 appears more than once" in md
    assert "conv2d_forward_marker" in md  # the run's profile table, verbatim
    # the hyperparameters row, from config.json
    assert re.search(r"\| \S*handwritten \| 4 \| 64 \| 1000 \| sgd \| 0\.01 \| 0\.9 \| - \| cosine \| 7 \| 512 \| 1 \| cpu \|", md)


@pytest.mark.skipif(dl.cuda.is_available(), reason="a GPU is usable here, so a GPU run could exist")
def test_missing_gpu_run_is_stated(report: dict) -> None:
    assert "**Missing: GPU results.**" in report["md"]
    assert "- GPU results" in report["md"].split("## Conclusion")[1]
    assert "**Missing: PyTorch's profile.**" in report["md"]  # no baseline_torch profile was given


def test_figures_exist_and_are_not_blank(report: dict) -> None:
    linked = re.findall(r"\]\((figures/[^)]+\.png)\)", report["md"])
    assert {"figures/curves_mnist.png", "figures/batch_size_sweep.png", "figures/per_class_mnist.png"} <= set(linked)
    for name in linked:
        assert image_variance(report["out"] / name) > 0.01, name


def test_html_is_self_contained(report: dict) -> None:
    html = report["html"]
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in html and "<script" not in html and "url(" not in html
    assert len(sources) == len(re.findall(r"\]\((figures/[^)]+\.png)\)", report["md"]))


def test_unusable_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert run_script(main, [str(tmp_path / "empty"), "-o", str(tmp_path / "out")], prog="report") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("report: error: ") and "neither a dlcore run" in err and "\n" not in err


def test_baseline_results_folder_is_read_one_level_down(tmp_path: Path) -> None:
    results = REPO / "baseline_torch" / "results" / "cpu"
    assert main([str(results), "-o", str(tmp_path)]) == 0
    md = (tmp_path / "REPORT.md").read_text()
    amp = json.loads((results / "amp" / "amp.json").read_text())
    bf16 = next(r for r in amp["summary"] if r["model"] == "cifar" and r["precision"] == "bf16")
    fp32 = next(r for r in amp["summary"] if r["model"] == "cifar" and r["precision"] == "fp32")
    assert f"| cifar | bf16 | ok | {num(bf16['seconds_per_epoch'], 3)} | {num(bf16['images_per_second'], 0)} |" in md
    assert f"bf16 trains at {bf16['images_per_second'] / fp32['images_per_second']:.2f}x fp32's throughput" in md
    parallel = json.loads((results / "parallel" / "parallel.json").read_text())
    for row in (r for r in parallel["summary"] if r["status"] == "ok"):
        assert f"| {row['model']} | {row['mode']} |" in md and f"| {num(row['speedup_vs_single'])} |" in md
    assert "**Missing: nccl/cuda.**" in md  # the backends run skipped NCCL: stated, not filled in
    assert "**Missing: the dlcore batch-size sweep.**" in md
    assert "dlcore is " in md and "faster than PyTorch" in md  # from compare.json, whichever way it went
