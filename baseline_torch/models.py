"""The two networks every tool trains: LeNet-5 exactly as dlcore's train_mnist.py defines it, and
a small VGG-style CIFAR-10 CNN with regularisation switches. Both are a `features` stage and a
`classifier` stage so model parallelism can split them without special cases.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


class LeNet5(nn.Module):
    """LeNet-5 for 28x28 MNIST: conv(1->6, 5x5, pad 2) ReLU pool, conv(6->16, 5x5) ReLU pool,
    then 400 -> 120 -> 84 -> 10 with ReLU between; PyTorch's default initialisation."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@dataclass
class CifarConfig:
    """Switches of the CIFAR-10 CNN; `width` scales every channel count."""

    batch_norm: bool = False
    dropout: float = 0.0
    width: int = 32


class CifarVGG(nn.Module):
    """VGG-style CNN for 32x32x3 inputs.

    Three blocks of two 3x3 convolutions (channels w, 2w, 4w; optional BatchNorm after each conv)
    with ReLU, each block closed by a 2x2 max-pool (32 -> 16 -> 8 -> 4); then flatten,
    Linear(4w*16 -> 8w), ReLU, optional Dropout, Linear(8w -> 10). With w=32 that is ~0.8 M
    parameters: small enough to train on a CPU in minutes, deep enough to over-fit CIFAR-10
    without regularisation, which is what the regulariser comparison needs to show.
    Initialisation follows torchvision's VGG (He-normal convolutions, N(0, 0.01) linears, zero
    biases), not PyTorch's layer defaults.
    """

    def __init__(self, config: CifarConfig | None = None, num_classes: int = 10) -> None:
        super().__init__()
        config = config or CifarConfig()
        w = config.width
        layers: list[nn.Module] = []
        in_channels = 3
        for out_channels in (w, 2 * w, 4 * w):
            for _ in range(2):
                layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1,
                                        bias=not config.batch_norm))
                if config.batch_norm:
                    layers.append(nn.BatchNorm2d(out_channels))
                layers.append(nn.ReLU(inplace=True))
                in_channels = out_channels
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(4 * w * 4 * 4, 8 * w), nn.ReLU(inplace=True)]
        if config.dropout > 0:
            head.append(nn.Dropout(config.dropout))
        head.append(nn.Linear(8 * w, num_classes))
        self.classifier = nn.Sequential(*head)
        self._init_like_torchvision_vgg()

    def _init_like_torchvision_vgg(self) -> None:
        # PyTorch's default init shrinks activations through six plain conv layers, so without
        # batch norm the net sits at chance for epochs; He init (as torchvision's VGG) avoids it.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_model(name: str, cifar: CifarConfig | None = None) -> nn.Module:
    """`lenet` or `cifar` by name, so tools can loop over models."""
    if name == "lenet":
        return LeNet5()
    if name == "cifar":
        return CifarVGG(cifar)
    raise ValueError(f"unknown model {name!r}; choose lenet or cifar")


def dataset_for(model_name: str) -> str:
    """The dataset each model is trained on."""
    return "mnist" if model_name == "lenet" else "cifar10"


def split_stages(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """The two pipeline stages of a model: its feature extractor and its classifier."""
    return model.features, model.classifier


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
