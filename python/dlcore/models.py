"""Reference models shared by the main job, the benchmarks and the tests.

LeNet-5 is the course's classic (conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10), written
exactly like baseline_torch's so state dicts and curves compare one to one.
"""
from __future__ import annotations

from . import nn
from .nn import functional as F


class LeNet5(nn.Module):
    """LeNet-5 for 1x28x28 inputs (MNIST): two conv+ReLU+max-pool stages and three linear layers."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):  # type: ignore[override]
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
