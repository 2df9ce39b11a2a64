"""Model parallelism: the network split into two stages on two devices, each batch cut into
micro-batches so stage 1 works on micro-batch i+1 while stage 2 works on micro-batch i (GPipe's
fill schedule, relying on CUDA's asynchronous launches on the two devices to overlap).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .models import split_stages
from .replicas import equivalence_to_large_batch
from .train_loop import Trainer


class PipelineModel(nn.Module):
    """A model's two stages on two devices with micro-batching.

    With both stages on one device (fewer GPUs than stages) the same code and transfers run, only
    without overlap: that is the simulation the tools report. Gradients equal the unsplit model's
    for models without batch norm (batch norm would see micro-batch statistics instead).
    """

    def __init__(self, model: nn.Module, devices: tuple[torch.device, torch.device],
                 micro_batches: int) -> None:
        super().__init__()
        first, second = split_stages(model)
        self.devices = devices
        self.first = first.to(devices[0])
        self.second = second.to(devices[1])
        self.micro_batches = max(1, micro_batches)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        chunks = iter(images.to(self.devices[0]).chunk(self.micro_batches))
        in_flight = self.first(next(chunks)).to(self.devices[1])
        outputs = []
        for chunk in chunks:
            outputs.append(self.second(in_flight))           # stage 2 on micro-batch i ...
            in_flight = self.first(chunk).to(self.devices[1])  # ... while stage 1 takes i+1
        outputs.append(self.second(in_flight))
        return torch.cat(outputs)


def pipeline_equivalence(model_name: str = "lenet", micro_batches: int = 4,
                         devices: tuple[torch.device, torch.device] | None = None,
                         **kwargs: Any) -> dict[str, Any]:
    """The micro-batched two-stage pipeline versus the unsplit large-batch step."""
    devices = devices or (torch.device("cpu"), torch.device("cpu"))

    def make_trainer(model: nn.Module, cfg) -> Trainer:
        return Trainer(PipelineModel(model, devices, micro_batches), cfg, devices[0], 1)

    result = equivalence_to_large_batch(model_name, make_trainer, device=devices[0], **kwargs)
    return {"method": f"2-stage pipeline, {micro_batches} micro-batches on {[str(d) for d in devices]}",
            **result}
