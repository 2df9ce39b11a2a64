"""Reference models shared by the main jobs, the benchmarks and the tests.

LeNet-5 is the course's classic (conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10); CifarVGG
is baseline_torch's VGG-style CIFAR-10 CNN, layer for layer and initialised the same way, so state
dicts load one to one and curves compare across the two frameworks.
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
        # relu(conv(x)) and relu(fc(x)) with the ReLU fused into the bias kernel: the same numbers
        # as the unfused layers, four launches fewer per step (a GPU step here is launch-bound).
        x = F.max_pool2d(F.conv2d_relu(x, self.conv1.weight, self.conv1.bias, padding=2), 2)
        x = F.max_pool2d(F.conv2d_relu(x, self.conv2.weight, self.conv2.bias), 2)
        x = x.flatten(1)
        x = F.linear_relu(x, self.fc1.weight, self.fc1.bias)
        x = F.linear_relu(x, self.fc2.weight, self.fc2.bias)
        return self.fc3(x)


class CifarVGG(nn.Module):
    """VGG-style CNN for 3x32x32 inputs (CIFAR-10), a copy of baseline_torch.models.CifarVGG.

    ``features``: three blocks of two 3x3 convolutions (channels w, 2w, 4w; with ``batch_norm`` each
    is followed by BatchNorm2d and has no bias) with ReLU, each block closed by a 2x2 max-pool
    (32 -> 16 -> 8 -> 4). ``classifier``: Flatten, Linear(4w*16 -> 8w), ReLU, Dropout when
    ``dropout`` > 0, Linear(8w -> classes). Sequential indices, hence state-dict keys, match the
    PyTorch model's. Initialisation is torchvision VGG's: He-normal (fan_out) convolutions,
    N(0, 0.01) linears, zero biases.
    """

    def __init__(self, width: int = 32, batch_norm: bool = True, dropout: float = 0.0,
                 num_classes: int = 10) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"CifarVGG: width must be >= 1, got {width}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"CifarVGG: dropout must be in [0, 1), got {dropout}")
        layers = []
        in_channels = 3
        for out_channels in (width, 2 * width, 4 * width):
            for _ in range(2):
                layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out_channels))
                layers.append(nn.ReLU())
                in_channels = out_channels
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        head = [nn.Flatten(), nn.Linear(4 * width * 4 * 4, 8 * width), nn.ReLU()]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(8 * width, num_classes))
        self.classifier = nn.Sequential(*head)
        self._init_like_torchvision_vgg()

    def _init_like_torchvision_vgg(self) -> None:
        # Layer defaults shrink activations through six plain convolutions, leaving the net without
        # batch norm at chance for epochs; He init (torchvision's VGG scheme) keeps their scale.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x):  # type: ignore[override]
        return self.classifier(self.features(x))
