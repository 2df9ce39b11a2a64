"""CifarVGG: baseline_torch's VGG-style CIFAR-10 CNN, layer for layer and initialised the same way,
so state dicts load one to one and curves compare across the two frameworks.
"""
from __future__ import annotations

from .. import nn


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
