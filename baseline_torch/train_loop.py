"""One training loop for every tool: seeded batch order, optional augmentation, mixed precision and
LR schedules, timed epochs and the per-epoch record whose keys match dlcore's metrics.jsonl.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import Split, augment_crop_flip, batches, epoch_permutation
from .results import append_jsonl, peak_memory_bytes

PRECISIONS = ("fp32", "fp16", "bf16")
SCHEDULES = ("none", "step", "cosine", "onecycle")


@dataclass
class TrainConfig:
    """Hyper-parameters of one run; the defaults are dlcore train_mnist.py's."""

    epochs: int = 10
    batch_size: int = 64
    test_batch_size: int = 1000
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    optimizer: str = "sgd"
    schedule: str = "none"
    label_smoothing: float = 0.0
    augment: bool = False
    precision: str = "fp32"
    seed: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_lr(optimizer: str, lr: float | None) -> float:
    """--lr when given, else train_mnist.py's default for the optimizer (sgd 0.01, adam 0.001)."""
    if lr is not None:
        return lr
    return 0.01 if optimizer == "sgd" else 1e-3


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """SGD with momentum (default) or Adam, with weight decay as torch.optim applies it."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def make_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """A scheduler stepped once per batch, or None.

    step: x0.1 every third of the run; cosine: to zero over the run; onecycle: warm-up to lr
    then anneal (torch defaults).
    """
    total = max(1, cfg.epochs * steps_per_epoch)
    if cfg.schedule == "none":
        return None
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, total // 3), gamma=0.1)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total)
    raise ValueError(f"unknown schedule {cfg.schedule!r}; choose from {SCHEDULES}")


def autocast_context(precision: str, device: torch.device):
    """torch.autocast for fp16/bf16, a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work; every GPU, since a pipeline spreads one step over several."""
    if device.type == "cuda":
        for index in range(torch.cuda.device_count()):
            torch.cuda.synchronize(index)


class Trainer:
    """Optimizer, scheduler and GradScaler around a model that the caller has already placed.

    The model may be a wrapper (DataParallel, DistributedDataParallel, a PipelineModel); a subclass
    changes how one batch's gradients are made (forward_backward: the by-hand replicas), while the
    epoch loop, timing and update stay here.
    """

    def __init__(self, model: nn.Module, cfg: TrainConfig, device: torch.device,
                 steps_per_epoch: int) -> None:
        self.model, self.cfg, self.device = model, cfg, device
        self.optimizer = make_optimizer(cfg, self.model.parameters())
        self.scheduler = make_scheduler(cfg, self.optimizer, steps_per_epoch)
        # GradScaler only matters for fp16, whose small gradients underflow without scaling.
        self.scaler = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")
        self.augment_generator = torch.Generator().manual_seed(cfg.seed)

    def forward_backward(self, images: torch.Tensor, labels: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Leave the batch-mean gradient (scaled for fp16) in .grad; returns (loss, logits, labels)."""
        with autocast_context(self.cfg.precision, self.device):
            logits = self.model(images)
        labels = labels.to(logits.device)
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=self.cfg.label_smoothing)
        self.scaler.scale(loss).backward()
        return loss.detach(), logits.detach(), labels

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step; returns (batch-mean loss, correct count) as device tensors."""
        if self.cfg.augment:
            images = augment_crop_flip(images, self.augment_generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss, logits, labels = self.forward_backward(images, labels)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        correct = (logits.argmax(1) == labels).sum()
        return loss.to(self.device), correct.to(self.device)

    def train_epoch(self, train: Split, epoch: int, order: np.ndarray | None = None) -> dict[str, float]:
        """One timed pass over `train` in the (seed, epoch) order unless `order` is given."""
        self.model.train()
        if order is None:
            order = epoch_permutation(len(train), self.cfg.seed, epoch)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        steps = 0
        synchronize(self.device)
        start = time.perf_counter()
        for images, labels in batches(train, self.cfg.batch_size, order):
            batch_loss, batch_correct = self.step(images, labels)
            loss_sum += batch_loss
            correct += batch_correct
            steps += 1
        synchronize(self.device)
        seconds = time.perf_counter() - start
        n = len(order)
        # train_loss is the mean of the batch losses, as dlcore's train_mnist.py reports it
        return {"train_loss": loss_sum.item() / steps, "train_accuracy": 100.0 * correct.item() / n,
                "seconds": seconds, "images_per_second": n / seconds}


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int, precision: str = "fp32"
             ) -> dict[str, Any]:
    """Mean loss, accuracy and per-class accuracy (both in %, as dlcore reports) in eval mode."""
    model.eval()
    device = split.labels.device
    num_classes = len(split.classes)
    loss_sum = torch.zeros((), device=device)
    hits = torch.zeros(num_classes, device=device)
    counts = torch.zeros(num_classes, device=device)
    for images, labels in batches(split, batch_size):
        with autocast_context(precision, device):
            logits = model(images).to(device)
        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
        right = (logits.argmax(1) == labels).float()
        hits.index_add_(0, labels, right)
        counts.index_add_(0, labels, torch.ones_like(right))
    n = len(split)
    per_class = (100.0 * hits / counts.clamp(min=1)).tolist()
    return {"test_loss": loss_sum.item() / n, "test_accuracy": 100.0 * hits.sum().item() / n,
            "per_class_accuracy": dict(zip(split.classes, per_class))}


def run_epochs(trainer: Trainer, train: Split, test: Split, metrics_path: Path | None = None,
               label: str = "", log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Train for trainer.cfg.epochs; one record per epoch (dlcore's metrics.jsonl keys and more).

    `seconds` and `images_per_second` time the training pass only (no evaluation), with the device
    synchronised at both ends.
    """
    cfg, device = trainer.cfg, trainer.device
    history = []
    for epoch in range(1, cfg.epochs + 1):
        record: dict[str, Any] = {"epoch": epoch}
        record.update(trainer.train_epoch(train, epoch))
        record.update(evaluate(trainer.model, test, cfg.test_batch_size, cfg.precision))
        record["peak_memory_bytes"] = peak_memory_bytes(device)
        record["lr"] = trainer.optimizer.param_groups[0]["lr"]
        history.append(record)
        if metrics_path is not None:
            append_jsonl(metrics_path, {k: v for k, v in record.items() if k != "per_class_accuracy"})
        log(f"{label}epoch {epoch}: train loss {record['train_loss']:.4f} acc "
            f"{record['train_accuracy']:.2f}% | test loss {record['test_loss']:.4f} acc "
            f"{record['test_accuracy']:.2f}% | {record['seconds']:.2f}s "
            f"{record['images_per_second']:.0f} img/s")
    return history


def steps_per_epoch(samples: int, batch_size: int) -> int:
    return -(-samples // batch_size)


def fit(model: nn.Module, train: Split, test: Split, cfg: TrainConfig, device: torch.device,
        metrics_path: Path | None = None, label: str = "",
        log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Plain single-device training of `model` (moved to `device`)."""
    trainer = Trainer(model.to(device), cfg, device, steps_per_epoch(len(train), cfg.batch_size))
    return run_epochs(trainer, train, test, metrics_path, label, log)


def curves_panels(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Loss and accuracy panels (train solid, test dashed) for one or more runs."""
    loss, acc = {}, {}
    for name, history in runs.items():
        epochs = [r["epoch"] for r in history]
        loss[f"{name} (train)"] = (epochs, [r["train_loss"] for r in history])
        loss[f"{name} (test)"] = (epochs, [r["test_loss"] for r in history])
        acc[f"{name} (train)"] = (epochs, [r["train_accuracy"] for r in history])
        acc[f"{name} (test)"] = (epochs, [r["test_accuracy"] for r in history])
    return [{"title": "loss", "ylabel": "cross-entropy", "series": loss},
            {"title": "accuracy", "ylabel": "%", "series": acc}]
