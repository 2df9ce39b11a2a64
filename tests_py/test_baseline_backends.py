# Tests of baseline_torch.backends: on a CPU-only machine Gloo's all-reduce is measured with two
# processes over growing messages, a DDP epoch runs over it, and NCCL is reported as skipped.
from __future__ import annotations

import json


import torch  # noqa: E402

from baseline_torch import backends  # noqa: E402


def test_message_sizes_grow_by_four():
    assert backends.message_sizes(1024, 65536) == [1024, 4096, 16384, 65536]


def test_backends_tool_measures_gloo_and_skips_nccl_without_gpus(tmp_path, data_dir):
    out = tmp_path / "backends"
    rc = backends.main(["--device", "cpu", "--limit", "256", "--batch-size", "64", "--threads", "2",
                        "--max-bytes", str(1 << 18), "--data", str(data_dir), "--out", str(out)])
    assert rc == 0
    result = json.loads((out / "backends.json").read_text())
    gloo = result["allreduce"]["gloo/cpu"]
    assert gloo["status"] == "ok" and [r["bytes"] for r in gloo["rows"]] == [4096, 16384, 65536, 262144]
    assert all(r["seconds"] > 0 and r["busbw_GBps"] > 0 for r in gloo["rows"])
    assert result["ddp"]["gloo/cpu"]["status"] == "ok"
    if not torch.cuda.is_available():
        assert result["allreduce"]["nccl/cuda"]["status"] == "skipped"
    assert (out / "backends.png").stat().st_size > 0
