# Tests of baseline_torch.compare, the headline dlcore-vs-PyTorch run: both sides train LeNet on the
# same slice of MNIST in fresh processes and line up per epoch; the PyTorch side alone works too.
from __future__ import annotations

import json


from baseline_torch import compare  # noqa: E402

KEYS = {"epoch", "train_loss", "test_loss", "test_accuracy", "seconds", "images_per_second",
        "peak_memory_bytes"}


def run_compare(tmp_path, data_dir, *extra):
    out = tmp_path / "compare"
    rc = compare.main(["--device", "cpu", "--epochs", "1", "--limit", "256", "--threads", "1",
                       "--data", str(data_dir), "--out", str(out), *extra])
    return rc, out


def test_compare_torch_side_only(tmp_path, data_dir):
    rc, out = run_compare(tmp_path, data_dir, "--skip-dlcore")
    assert rc == 0
    result = json.loads((out / "compare.json").read_text())
    assert list(result["sides"]) == ["torch"]
    assert KEYS <= set(result["sides"]["torch"]["epochs"][0])
    assert (out / "compare.png").stat().st_size > 0


def test_compare_dlcore_and_torch(tmp_path, data_dir):
    rc, out = run_compare(tmp_path, data_dir)
    result = json.loads((out / "compare.json").read_text())
    assert rc == 0, result["sides"]
    assert [row["status"] for row in result["summary"]] == ["ok", "ok"]
    assert result["time_ratio_dlcore_over_torch"] > 0
    for side in result["sides"].values():
        assert KEYS <= set(side["epochs"][0]) and 0 <= side["epochs"][0]["test_accuracy"] <= 100
    markdown = (out / "compare.md").read_text()
    assert "| dlcore |" in markdown and "| torch |" in markdown
