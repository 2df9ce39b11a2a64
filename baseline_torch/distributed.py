"""Multi-process pieces shared by `parallel` and `backends`: where ranks go for a backend and a
device count, a DistributedDataParallel training job (torch.multiprocessing spawn +
DistributedSampler.set_epoch) and an all-reduce bandwidth job.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import statistics
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from .data import load_split
from .models import CifarConfig, build_model, dataset_for
from .results import peak_memory_bytes, write_json
from .train_loop import Trainer, TrainConfig, evaluate, steps_per_epoch, synchronize


@dataclass
class Placement:
    """Where the ranks of a backend run; `skip` says why it cannot run here, `note` if simulated."""

    backend: str
    devices: list[str]
    simulated: bool = False
    note: str = ""
    skip: str = ""


def plan_ranks(backend: str, world_size: int, device: torch.device) -> Placement:
    """One rank per GPU when there are enough; otherwise share a GPU (gloo) or use CPU processes.

    NCCL refuses two ranks on one GPU, so with fewer GPUs than ranks NCCL is skipped, not faked.
    """
    gpus = torch.cuda.device_count() if device.type == "cuda" else 0
    if backend == "nccl":
        if not (torch.cuda.is_available() and dist.is_nccl_available()):
            return Placement(backend, [], skip="NCCL needs CUDA GPUs and a torch built with NCCL")
        if gpus < world_size:
            return Placement(backend, [], skip=f"NCCL needs one GPU per rank: {world_size} ranks "
                                               f"asked, {gpus} GPU(s) found")
        return Placement(backend, [f"cuda:{r}" for r in range(world_size)])
    if backend != "gloo":
        raise ValueError(f"unknown backend {backend!r}")
    if not dist.is_gloo_available():
        return Placement(backend, [], skip="torch was built without Gloo")
    if gpus == 0:
        return Placement(backend, ["cpu"] * world_size, simulated=True,
                         note=f"simulated: {world_size} CPU processes on one machine")
    devices = [f"cuda:{r % gpus}" for r in range(world_size)]
    if gpus < world_size:
        return Placement(backend, devices, simulated=True,
                         note=f"simulated: {world_size} processes share {gpus} GPU(s)")
    return Placement(backend, devices)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DDPJob:
    """Everything a spawned rank needs (picklable)."""

    placement: Placement
    model_name: str
    cfg: TrainConfig
    data: str
    limit: int | None
    result_path: str
    threads_per_rank: int = 1
    use_torchvision: bool = False
    cifar: CifarConfig = field(default_factory=CifarConfig)
    port: int = 0


def _init_rank(rank: int, world_size: int, backend: str, port: int, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)


@contextlib.contextmanager
def _rank_session(rank: int, job: Any, device: torch.device) -> Iterator[None]:
    """Joins the job's process group for the body; rank 0 records a failure in the result file."""
    _init_rank(rank, len(job.placement.devices), job.placement.backend, job.port, device)
    try:
        yield
    except Exception:
        if rank == 0:
            write_json(Path(job.result_path), {"status": "failed", "error": traceback.format_exc()})
        raise
    finally:
        dist.destroy_process_group()


def _ddp_rank(rank: int, job: DDPJob) -> None:
    world = len(job.placement.devices)
    device = torch.device(job.placement.devices[rank])
    torch.set_num_threads(job.threads_per_rank)
    with _rank_session(rank, job, device):
        dataset = dataset_for(job.model_name)
        train = load_split(dataset, job.data, True, job.limit, job.use_torchvision).to(device)
        test = load_split(dataset, job.data, False, job.limit, job.use_torchvision).to(device)
        torch.manual_seed(job.cfg.seed)  # every rank builds the same initial weights
        model = build_model(job.model_name, job.cifar).to(device)
        ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        # The global batch stays cfg.batch_size: each rank takes its share of it.
        rank_cfg = dataclasses.replace(job.cfg, batch_size=max(1, job.cfg.batch_size // world))
        sampler = DistributedSampler(range(len(train)), num_replicas=world, rank=rank,
                                     shuffle=True, seed=job.cfg.seed)
        trainer = Trainer(ddp, rank_cfg, device, steps_per_epoch(len(sampler), rank_cfg.batch_size))
        trainer.augment_generator.manual_seed(job.cfg.seed * 1000 + rank)
        history = []
        for epoch in range(1, job.cfg.epochs + 1):
            sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
            order = np.fromiter(iter(sampler), dtype=np.int64)
            dist.barrier()
            stats = trainer.train_epoch(train, epoch, order)
            n = len(order)
            totals = torch.tensor([stats["train_loss"] * n, stats["train_accuracy"] * n, n,
                                   stats["seconds"]], dtype=torch.float64, device=device)
            slowest = totals[3:].clone()
            dist.all_reduce(totals[:3])
            dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
            if rank == 0:
                record: dict[str, Any] = {"epoch": epoch,
                                          "train_loss": (totals[0] / totals[2]).item(),
                                          "train_accuracy": (totals[1] / totals[2]).item(),
                                          "seconds": slowest.item(),
                                          "images_per_second": totals[2].item() / slowest.item()}
                record.update(evaluate(model, test, job.cfg.test_batch_size, job.cfg.precision))
                record["peak_memory_bytes"] = peak_memory_bytes(device)
                history.append(record)
            dist.barrier()
        if rank == 0:
            write_json(Path(job.result_path), {"status": "ok", "epochs": history})


def _spawn(worker, job, nprocs: int) -> dict[str, Any]:
    """Run `worker(rank, job)` in `nprocs` fresh processes; rank 0 leaves its result in a file."""
    if job.placement.skip:
        return {"status": "skipped", "reason": job.placement.skip}
    job = dataclasses.replace(job, port=free_port())
    path = Path(job.result_path)
    path.unlink(missing_ok=True)
    try:
        mp.spawn(worker, args=(job,), nprocs=nprocs, join=True)
    except Exception as error:  # a failed rank must not take the tool's other runs down with it
        if not path.exists():
            return {"status": "failed", "error": str(error)}
    return json.loads(path.read_text())


def run_ddp(job: DDPJob) -> dict[str, Any]:
    """Train with DDP, one process per rank; returns {"status", "epochs"} or the failure."""
    return _spawn(_ddp_rank, job, len(job.placement.devices))


@dataclass
class AllReduceJob:
    placement: Placement
    sizes_bytes: list[int]
    result_path: str
    threads_per_rank: int = 1
    port: int = 0


def _allreduce_rank(rank: int, job: AllReduceJob) -> None:
    world = len(job.placement.devices)
    device = torch.device(job.placement.devices[rank])
    torch.set_num_threads(job.threads_per_rank)
    with _rank_session(rank, job, device):
        rows = []
        for size in job.sizes_bytes:
            tensor = torch.ones(max(1, size // 4), dtype=torch.float32, device=device)
            iterations = int(min(50, max(5, (64 << 20) // max(size, 1))))
            for _ in range(3):  # warm-up: connections, buffers, algorithm choice
                dist.all_reduce(tensor)
            times = []
            for _ in range(iterations):
                synchronize(device)
                dist.barrier()
                start = time.perf_counter()
                dist.all_reduce(tensor)
                synchronize(device)
                times.append(time.perf_counter() - start)
            # the slowest rank's median is the collective's time
            median = torch.tensor([statistics.median(times)], dtype=torch.float64, device=device)
            dist.all_reduce(median, op=dist.ReduceOp.MAX)
            seconds = median.item()
            algbw = size / seconds
            rows.append({"bytes": size, "seconds": seconds, "iterations": iterations,
                         "algbw_GBps": algbw / 1e9,
                         # bus bandwidth: what each link carries in a ring all-reduce
                         "busbw_GBps": algbw * 2 * (world - 1) / world / 1e9})
        if rank == 0:
            write_json(Path(job.result_path), {"status": "ok", "rows": rows})


def run_allreduce(job: AllReduceJob) -> dict[str, Any]:
    """All-reduce sweep over message sizes; returns {"status", "rows"} or the failure."""
    return _spawn(_allreduce_rank, job, len(job.placement.devices))
