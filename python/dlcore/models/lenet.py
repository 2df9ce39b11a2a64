"""LeNet-5, the course's classic for MNIST (conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10),
with its ReLUs fused into the bias kernels.
"""
from __future__ import annotations

from .. import nn
from ..nn import functional as F


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
        # relu(conv(x)) and relu(fc(x)) with the ReLU fused into the bias kernel: the same numbers
        # as the unfused layers, four launches fewer per step (a GPU step here is launch-bound).
        x = F.max_pool2d(F.conv2d_relu(x, self.conv1.weight, self.conv1.bias, padding=2), 2)
        x = F.max_pool2d(F.conv2d_relu(x, self.conv2.weight, self.conv2.bias), 2)
        x = x.flatten(1)
        x = F.linear_relu(x, self.fc1.weight, self.fc1.bias)
        x = F.linear_relu(x, self.fc2.weight, self.fc2.bias)
        return self.fc3(x)
