"""Data parallelism by hand, as the course allows without a parallel API: K model replicas on one
device each take a shard of the batch, their gradients are averaged by hand into the master model,
and one synchronised update follows. Also the check that this equals the large-batch step.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .models import build_model
from .train_loop import Trainer, TrainConfig, autocast_context


class ReplicaTrainer(Trainer):
    """Trainer whose gradient comes from K replicas, each on a contiguous shard of the batch.

    Shards may differ in size (the last batch of an epoch), so replica k's batch-mean gradient is
    weighted by n_k / n: the sum is then exactly the gradient of the full batch's mean loss. With
    equal shards the weights are all 1/K, the plain average DataParallel and DDP compute.
    Replicas copy the master's parameters and buffers before each step, as a broadcast would.
    """

    def __init__(self, model: nn.Module, cfg: TrainConfig, device: torch.device,
                 steps_per_epoch: int, replicas: int) -> None:
        super().__init__(model, cfg, device, steps_per_epoch)
        if replicas < 1:
            raise ValueError(f"replicas must be >= 1, got {replicas}")
        self.replicas = [copy.deepcopy(model) for _ in range(replicas)]

    def _broadcast_master(self) -> None:
        master = self.model.state_dict()
        for replica in self.replicas:
            replica.load_state_dict(master)
            replica.train(self.model.training)

    def forward_backward(self, images: torch.Tensor, labels: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self._broadcast_master()
        total = labels.shape[0]
        losses, all_logits = [], []
        shards = zip(self.replicas, images.tensor_split(len(self.replicas)),
                     labels.tensor_split(len(self.replicas)))
        for replica, shard_images, shard_labels in shards:
            if shard_labels.numel() == 0:
                continue
            replica.zero_grad(set_to_none=True)
            with autocast_context(self.cfg.precision, self.device):
                logits = replica(shard_images)
            loss = F.cross_entropy(logits.float(), shard_labels,
                                   label_smoothing=self.cfg.label_smoothing)
            self.scaler.scale(loss).backward()
            losses.append(loss.detach() * shard_labels.shape[0])
            all_logits.append(logits.detach())
        # The hand-written all-reduce: master.grad = sum_k (n_k / n) * replica_k.grad.
        with torch.no_grad():
            for name, master_param in self.model.named_parameters():
                total_grad = None
                for replica, shard_labels in zip(self.replicas, labels.tensor_split(len(self.replicas))):
                    grad = dict(replica.named_parameters())[name].grad
                    if grad is None:
                        continue
                    weighted = grad * (shard_labels.shape[0] / total)
                    total_grad = weighted if total_grad is None else total_grad + weighted
                master_param.grad = total_grad
        return torch.stack(losses).sum() / total, torch.cat(all_logits), labels


def parameters_after_step(trainer: Trainer, images: torch.Tensor, labels: torch.Tensor,
                          steps: int) -> dict[str, torch.Tensor]:
    for _ in range(steps):
        trainer.step(images, labels)
    return {k: v.detach().clone() for k, v in trainer.model.named_parameters()}


def equivalence_to_large_batch(model_name: str, make_trainer: Callable[[nn.Module, TrainConfig], Trainer],
                                batch_size: int = 64, steps: int = 1, lr: float = 0.1,
                                momentum: float = 0.9, seed: int = 0,
                                device: torch.device | None = None, rtol: float = 1e-3
                                ) -> dict[str, Any]:
    """Compare `make_trainer`'s steps with the plain large-batch step on one random batch.

    Both start from the same weights. After `steps` SGD-with-momentum steps the largest absolute
    parameter difference must be <= rtol x the largest parameter update. Only the order of float32
    gradient sums differs, so the difference is rounding: measured ~1e-6 of the update for LeNet
    and up to ~1e-4 for the CIFAR CNN (convolution gradients sum ~10^4 terms per weight), while a
    wrong averaging (e.g. a sum of K gradients) is off by about the update itself.
    """
    device = device or torch.device("cpu")
    torch.manual_seed(seed)
    model = build_model(model_name).to(device)
    shape = (batch_size, 1, 28, 28) if model_name == "lenet" else (batch_size, 3, 32, 32)
    generator = torch.Generator().manual_seed(seed + 1)
    images = torch.randn(shape, generator=generator).to(device)
    labels = torch.randint(0, 10, (batch_size,), generator=generator).to(device)
    cfg = TrainConfig(batch_size=batch_size, lr=lr, momentum=momentum, seed=seed)
    large = parameters_after_step(Trainer(copy.deepcopy(model), cfg, device, 1), images, labels, steps)
    other = parameters_after_step(make_trainer(copy.deepcopy(model), cfg), images, labels, steps)
    # Compared in registration order: a pipeline renames parameters (first.*, second.*).
    pairs = list(zip(large.values(), other.values(), model.parameters()))
    if len(pairs) != len(large) or any(a.shape != b.shape for a, b, _ in pairs):
        raise ValueError("the two trainers' models do not have the same parameters")
    max_diff = max((a - b.to(device)).abs().max().item() for a, b, _ in pairs)
    max_update = max((a - start).abs().max().item() for a, _, start in pairs)
    return {"model": model_name, "batch_size": batch_size, "steps": steps, "lr": lr,
            "momentum": momentum, "max_abs_param_diff": max_diff,
            "max_abs_param_update": max_update, "relative_diff": max_diff / max(max_update, 1e-30),
            "rtol": rtol, "equivalent": max_update > 0 and max_diff <= rtol * max_update}


def replica_equivalence(model_name: str = "lenet", replicas: int = 4, batch_size: int = 64,
                        steps: int = 1, device: torch.device | None = None, **kwargs: Any
                        ) -> dict[str, Any]:
    """K by-hand replicas versus the single-device large-batch step (see equivalence_to_large_batch)."""
    device = device or torch.device("cpu")
    result = equivalence_to_large_batch(
        model_name, lambda model, cfg: ReplicaTrainer(model, cfg, device, 1, replicas),
        batch_size=batch_size, steps=steps, device=device, **kwargs)
    return {"method": f"{replicas} by-hand replicas", "replicas": replicas, **result}
