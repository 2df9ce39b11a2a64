# Smoke and reproducibility tests of baseline_torch.lenet_mnist, the PyTorch LeNet-5 reference:
# it trains end to end on a few hundred real MNIST images, writes its JSON/PNG/metrics, repeats
# exactly from the seed, and a missing dataset is one clear error (exit 2), not a traceback.
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]

import pytest  # noqa: E402
import torch  # noqa: E402

from baseline_torch import lenet_mnist  # noqa: E402
from baseline_torch.models import LeNet5  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


METRIC_KEYS = {"epoch", "train_loss", "test_loss", "test_accuracy", "seconds", "images_per_second",
               "peak_memory_bytes"}


def test_lenet_architecture_matches_train_mnist():
    model = LeNet5()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
                      (10, 84), (10,)]
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def run(tmp_path: pathlib.Path, data_dir: pathlib.Path, name: str) -> list[dict]:
    out = tmp_path / name
    rc = lenet_mnist.main(["--device", "cpu", "--epochs", "1", "--limit", "512", "--seed", "3",
                           "--threads", "1", "--data", str(data_dir), "--out", str(out)])
    assert rc == 0
    assert (out / "lenet_mnist.png").stat().st_size > 0
    result = json.loads((out / "lenet_mnist.json").read_text())
    assert result["train_samples"] == 512 and result["test_samples"] == 512
    assert len(result["epochs"][0]["per_class_accuracy"]) == 10
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_lenet_runs_writes_outputs_and_repeats_from_seed(tmp_path, data_dir):
    first = run(tmp_path, data_dir, "a")
    assert len(first) == 1 and METRIC_KEYS <= set(first[0])
    assert 0.0 <= first[0]["test_accuracy"] <= 100.0
    second = run(tmp_path, data_dir, "b")
    # Same seed, same data order, one thread: the CPU run repeats to float32 rounding or better.
    assert second[0]["train_loss"] == pytest.approx(first[0]["train_loss"], rel=1e-6)
    assert second[0]["test_accuracy"] == first[0]["test_accuracy"]


def test_missing_dataset_is_exit_code_2(tmp_path, capsys):
    rc = lenet_mnist.main(["--device", "cpu", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert rc == 2
    assert "mnist" in capsys.readouterr().err.lower()


def test_every_tool_answers_help():
    code = ("import sys, contextlib, io\n"
            "from baseline_torch import TOOLS\n"
            "import importlib\n"
            "for tool in TOOLS:\n"
            "    try:\n"
            "        with contextlib.redirect_stdout(io.StringIO()) as text:\n"
            "            importlib.import_module('baseline_torch.' + tool).main(['--help'])\n"
            "    except SystemExit as stop:\n"
            "        assert stop.code == 0, tool\n"
            "    assert '--limit' in text.getvalue() and '--device' in text.getvalue(), tool\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    help_text = subprocess.run([sys.executable, "-m", "baseline_torch.lenet_mnist", "--help"], cwd=REPO,
                               capture_output=True, text=True, timeout=120)
    assert help_text.returncode == 0 and "--batch-size" in help_text.stdout
    # Without the optional plotting and logging packages, --help still answers for every tool.
    hidden = "sys.modules['matplotlib'] = sys.modules['tensorboard'] = None\n"
    proc = subprocess.run([sys.executable, "-c", "import sys\n" + hidden + code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("tool,hidden,needle", [("lenet_mnist", "matplotlib", "matplotlib is not installed"),
                                                ("profile", "tensorboard", "tensorboard is not installed")])
def test_missing_optional_package_names_the_extra(tool, hidden, needle, tmp_path):
    # Checked before any data is read or model trained: --data points nowhere.
    code = (f"import sys, runpy\nsys.modules[{hidden!r}] = None\n"
            f"sys.argv = ['x', '--device', 'cpu', '--data', {str(tmp_path / 'nowhere')!r}, '--out', {str(tmp_path)!r}]\n"
            f"runpy.run_module('baseline_torch.{tool}', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert needle in line and "pip install 'dlcore[baseline]'" in line
