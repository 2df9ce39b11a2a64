"""NCCL versus Gloo: all-reduce bandwidth over message sizes and the epoch time of the same DDP
training, for every backend/device pairing this machine offers (the others are listed as skipped
with the reason).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import torch

from .cli import common_parser, prepare, run_main
from .distributed import AllReduceJob, DDPJob, Placement, plan_ranks, run_allreduce, run_ddp
from .results import format_table, hardware_info, markdown_table, plot_panels, write_json
from .train_loop import TrainConfig


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common_parser("All-reduce bandwidth and DDP epoch time, NCCL vs Gloo.",
                           epochs=1, batch_size=128, lr=0.01, out="runs/baseline_torch/backends")
    parser.add_argument("--world-size", type=int, default=2)
    parser.add_argument("--min-bytes", type=int, default=4 << 10)
    parser.add_argument("--max-bytes", type=int, default=None,
                        help="largest message (default 256 MiB on GPUs, 16 MiB on the CPU)")
    parser.add_argument("--skip-ddp", action="store_true", help="bandwidth only")
    return parser.parse_args(argv)


def candidates(world_size: int, device: torch.device) -> dict[str, Placement]:
    """gloo on the CPU always; gloo and NCCL on GPUs when training on cuda."""
    found = {"gloo/cpu": plan_ranks("gloo", world_size, torch.device("cpu"))}
    if device.type == "cuda":
        found["gloo/cuda"] = plan_ranks("gloo", world_size, device)
        found["nccl/cuda"] = plan_ranks("nccl", world_size, device)
    else:
        found["nccl/cuda"] = Placement("nccl", [], skip="no GPU in use (--device cpu or none found)")
    return found


def message_sizes(low: int, high: int) -> list[int]:
    sizes, size = [], low
    while size <= high:
        sizes.append(size)
        size *= 4
    return sizes


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    device = prepare(args)
    out = Path(args.out)
    high = args.max_bytes or ((256 << 20) if device.type == "cuda" else (16 << 20))
    sizes = message_sizes(args.min_bytes, high)
    threads = max(1, torch.get_num_threads() // args.world_size)
    bandwidth: dict[str, Any] = {}
    ddp: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for name, placement in candidates(args.world_size, device).items():
        print(f"[{name}] {placement.skip or placement.note or placement.devices}")
        result = run_allreduce(AllReduceJob(placement, sizes, str(out / f"allreduce_{name.replace('/', '_')}.json"),
                                            threads_per_rank=threads))
        bandwidth[name] = {"placement": placement.__dict__, **result}
        row: dict[str, Any] = {"backend": name, "status": result["status"],
                               "placement": placement.skip or placement.note or "one device per rank"}
        if result["status"] == "ok":
            best = max(result["rows"], key=lambda r: r["busbw_GBps"])
            row.update(peak_busbw_GBps=best["busbw_GBps"], at_bytes=best["bytes"],
                       small_msg_latency_us=result["rows"][0]["seconds"] * 1e6)
            for r in result["rows"]:
                print(f"[{name}] {r['bytes']:>11,d} B  {r['seconds'] * 1e6:10.1f} us  "
                      f"busbw {r['busbw_GBps']:.3f} GB/s")
        elif result["status"] == "failed":
            print(f"[{name}] failed: {result['error']}", file=sys.stderr)
        if not args.skip_ddp and result["status"] == "ok":
            cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                              test_batch_size=args.test_batch_size, lr=args.lr,
                              momentum=args.momentum, seed=args.seed)
            job = DDPJob(placement=placement, model_name="lenet", cfg=cfg, data=args.data,
                         limit=args.limit, result_path=str(out / f"ddp_{name.replace('/', '_')}.json"),
                         threads_per_rank=threads, use_torchvision=args.torchvision)
            ddp[name] = run_ddp(job)
            if ddp[name]["status"] == "ok":
                epochs = ddp[name]["epochs"]
                row["ddp_seconds_per_epoch"] = min(r["seconds"] for r in epochs)
                row["ddp_test_accuracy"] = epochs[-1]["test_accuracy"]
            else:
                print(f"[{name}] DDP {ddp[name]['status']}: {ddp[name].get('error', '')}", file=sys.stderr)
        rows.append(row)
    columns = ["backend", "status", "peak_busbw_GBps", "at_bytes", "small_msg_latency_us",
               "ddp_seconds_per_epoch", "ddp_test_accuracy", "placement"]
    write_json(out / "backends.json", {
        "tool": "backends", "framework": f"torch {torch.__version__}", "device": str(device),
        "world_size": args.world_size, "threads_per_rank": threads, "ddp_model": "lenet",
        "limit": args.limit, "hardware": hardware_info(), "summary": rows,
        "allreduce": bandwidth, "ddp": ddp})
    (out / "backends.md").write_text(markdown_table(rows, columns) + "\n")
    series = {name: ([r["bytes"] for r in res["rows"]], [r["busbw_GBps"] for r in res["rows"]])
              for name, res in bandwidth.items() if res["status"] == "ok"}
    plot_panels(out / "backends.png", [{"title": f"all-reduce, {args.world_size} ranks",
                                        "xlabel": "message bytes", "ylabel": "bus bandwidth (GB/s)",
                                        "series": series, "logx": True}],
                title=f"communication backends on {device}")
    print(format_table(rows, columns))
    print(f"wrote {out / 'backends.json'}, {out / 'backends.md'}, {out / 'backends.png'}")
    failed = [r for r in rows if r["status"] == "failed"] + \
        [d for d in ddp.values() if d["status"] == "failed"]
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
