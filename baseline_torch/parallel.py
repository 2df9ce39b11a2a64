"""The same model trained single-device, with nn.DataParallel, with DistributedDataParallel (NCCL
and Gloo), with a two-stage micro-batched pipeline and with by-hand replicas; time per epoch,
throughput and accuracy side by side. With fewer devices than a mode needs, it simulates them and
says so in every row it prints.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from .cli import common_parser, prepare, run_main, split_list
from .data import load_dataset
from .distributed import DDPJob, plan_ranks, run_ddp
from .models import build_model, dataset_for
from .pipeline import PipelineModel, pipeline_equivalence
from .replicas import ReplicaTrainer, replica_equivalence
from .results import format_table, hardware_info, markdown_table, plot_bars, write_json
from .train_loop import Trainer, TrainConfig, run_epochs, steps_per_epoch

MODES = ("single", "dataparallel", "replicas", "ddp-gloo", "ddp-nccl", "model-parallel")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common_parser("Data, distributed and model parallelism for LeNet/MNIST and the "
                           "CIFAR-10 CNN, compared with single-device training.",
                           epochs=2, batch_size=128, lr=0.01, out="runs/baseline_torch/parallel")
    parser.add_argument("--models", default="lenet,cifar", help="comma list of lenet, cifar")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma list of {MODES}")
    parser.add_argument("--world-size", type=int, default=2,
                        help="GPUs for DataParallel, ranks for DDP, replicas for the by-hand mode")
    parser.add_argument("--micro-batches", type=int, default=4, help="pipeline micro-batches")
    return parser.parse_args(argv)


def gpu_names() -> list[str]:
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def in_process_trainer(mode: str, model: nn.Module, cfg: TrainConfig, device: torch.device,
                       steps: int, args: argparse.Namespace) -> tuple[Trainer, str, bool]:
    """The trainer for a mode that runs in this process, with its placement and whether simulated."""
    gpus = torch.cuda.device_count() if device.type == "cuda" else 0
    k = args.world_size
    if mode == "single":
        return Trainer(model.to(device), cfg, device, steps), f"1 x {device}", False
    if mode == "dataparallel":
        if gpus >= k >= 2:
            wrapped = nn.DataParallel(model.to(device), device_ids=list(range(k)))
            return Trainer(wrapped, cfg, device, steps), f"nn.DataParallel on cuda:0..{k - 1}", False
        why = f"nn.DataParallel needs {k} GPUs, found {gpus}"
        return (ReplicaTrainer(model.to(device), cfg, device, steps, k),
                f"simulated ({why}): {k} by-hand replicas on {device}", True)
    if mode == "replicas":
        return (ReplicaTrainer(model.to(device), cfg, device, steps, k),
                f"{k} replicas on {device}, gradients averaged by hand", True)
    if mode == "model-parallel":
        if gpus >= 2:
            stages = (torch.device("cuda:0"), torch.device("cuda:1"))
            where, simulated = "stages on cuda:0 and cuda:1", False
        else:
            stages = (device, device)
            where, simulated = f"simulated (1 device): both stages on {device}", True
        pipe = PipelineModel(model, stages, args.micro_batches)
        return (Trainer(pipe, cfg, stages[0], steps),
                f"{where}, {args.micro_batches} micro-batches", simulated)
    raise ValueError(f"unknown mode {mode!r}")


def run_mode(mode: str, model_name: str, args: argparse.Namespace, device: torch.device,
             train, test, out: Path) -> dict[str, Any]:
    """Train one (model, mode) pair from the same seed; returns its row and history."""
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                      test_batch_size=args.test_batch_size, lr=args.lr, momentum=args.momentum,
                      seed=args.seed)
    label = f"[{model_name}/{mode}] "
    if mode.startswith("ddp-"):
        placement = plan_ranks(mode[4:], args.world_size, device)
        threads = max(1, torch.get_num_threads() // max(1, len(placement.devices)))
        job = DDPJob(placement=placement, model_name=model_name, cfg=cfg, data=args.data,
                     limit=args.limit, result_path=str(out / f"ddp_{model_name}_{mode}.json"),
                     threads_per_rank=threads, use_torchvision=args.torchvision)
        where = placement.note or f"{len(placement.devices)} ranks on {placement.devices}"
        print(f"{label}{placement.skip or where}")
        result = run_ddp(job)
        row = {"placement": placement.skip or where, "simulated": placement.simulated, **result}
        for record in result.get("epochs", []):
            print(f"{label}epoch {record['epoch']}: test acc {record['test_accuracy']:.2f}% "
                  f"| {record['seconds']:.2f}s {record['images_per_second']:.0f} img/s")
        if result["status"] == "failed":
            print(f"{label}failed:\n{result['error']}", file=sys.stderr)
        return row
    torch.manual_seed(args.seed)
    model = build_model(model_name)
    trainer, where, simulated = in_process_trainer(
        mode, model, cfg, device, steps_per_epoch(len(train), cfg.batch_size), args)
    print(f"{label}{where}")
    history = run_epochs(trainer, train, test, label=label)
    return {"placement": where, "simulated": simulated, "status": "ok", "epochs": history}


def summarise(model_name: str, mode: str, run: dict[str, Any], single_seconds: float | None
              ) -> dict[str, Any]:
    row: dict[str, Any] = {"model": model_name, "mode": mode, "status": run["status"],
                           "simulated": run.get("simulated", False)}
    history = run.get("epochs") or []
    if history:
        # the fastest epoch: the first pays warm-up, and a shared machine disturbs some epochs
        fastest = min(history, key=lambda r: r["seconds"])
        row.update(seconds_per_epoch=fastest["seconds"],
                   images_per_second=fastest["images_per_second"],
                   final_test_accuracy=history[-1]["test_accuracy"],
                   speedup_vs_single=(single_seconds / fastest["seconds"]) if single_seconds else None)
    return row


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    device = prepare(args)
    out = Path(args.out)
    models = split_list(args.models)
    modes = split_list(args.modes)
    bad = [m for m in modes if m not in MODES] + [m for m in models if m not in ("lenet", "cifar")]
    if bad:
        print(f"error: unknown models/modes {bad}; modes are {MODES}", file=sys.stderr)
        return 2
    gpus = gpu_names()
    print(f"GPUs found: {len(gpus)} {gpus if gpus else ''}; device {device}; "
          f"world size {args.world_size}; {torch.get_num_threads()} CPU threads")
    runs, rows, checks = {}, [], []
    for model_name in models:
        train, test = load_dataset(dataset_for(model_name), args.data, args.limit, device,
                                   args.torchvision)
        single_seconds = None
        for mode in modes:
            run = run_mode(mode, model_name, args, device, train, test, out)
            runs[f"{model_name}/{mode}"] = run
            row = summarise(model_name, mode, run, single_seconds)
            if mode == "single" and "seconds_per_epoch" in row:
                single_seconds = row["seconds_per_epoch"]
                row["speedup_vs_single"] = 1.0
            row["placement"] = run["placement"]
            rows.append(row)
        checks.append(replica_equivalence(model_name, args.world_size, device=device))
        checks.append(pipeline_equivalence(model_name, args.micro_batches, devices=(device, device)))
    columns = ["model", "mode", "status", "seconds_per_epoch", "images_per_second",
               "final_test_accuracy", "speedup_vs_single", "placement"]
    write_json(out / "parallel.json", {
        "tool": "parallel", "framework": f"torch {torch.__version__}", "device": str(device),
        "gpus": gpus, "world_size": args.world_size, "micro_batches": args.micro_batches,
        "global_batch_size": args.batch_size, "limit": args.limit, "hardware": hardware_info(),
        "summary": rows, "equivalence_checks": checks, "runs": runs})
    (out / "parallel.md").write_text(markdown_table(rows, columns) + "\n")
    for model_name in models:
        mine = [r for r in rows if r["model"] == model_name and "seconds_per_epoch" in r]
        plot_bars(out / f"parallel_{model_name}.png", [r["mode"] for r in mine],
                  {"seconds / epoch": [r["seconds_per_epoch"] for r in mine],
                   "images / s": [r["images_per_second"] for r in mine],
                   "test accuracy (%)": [r["final_test_accuracy"] for r in mine]},
                  title=f"{model_name}: parallelism on {device} ({len(gpus)} GPU(s))")
    print(format_table(rows, columns))
    for check in checks:
        print(f"equivalence ({check['model']}, {check['method']}): max |param diff| "
              f"{check['max_abs_param_diff']:.2e} = {check['relative_diff']:.1e} x max |update| "
              f"(rtol {check['rtol']:.0e}): {'equivalent' if check['equivalent'] else 'NOT equivalent'}")
    print(f"wrote {out / 'parallel.json'}, {out / 'parallel.md'} and parallel_<model>.png")
    failed = [r for r in rows if r["status"] == "failed"] + [c for c in checks if not c["equivalent"]]
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_run, argv)


if __name__ == "__main__":
    sys.exit(main())
