"""VGGs with torchvision's module layout, state-dict keys and initialisation (features / avgpool /
classifier), so a torchvision checkpoint loads one to one; plus the CIFAR head used for 32x32 images.
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import nn
from ._builders import ENGINE_LAYERS, refuse_pretrained

HEADS = ("imagenet", "cifar")
POOL = "M"  # a 2x2 max-pool in a configuration; numbers are 3x3 convolutions' output channels

# torchvision's configurations by the VGG paper's column letters: A = VGG-11, D = VGG-16.
CONFIGURATIONS: dict[str, list[int | str]] = {
    "A": [64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL],
    "D": [64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL, 512, 512, 512, POOL],
}


class VGG(nn.Module):
    """torchvision.models.VGG: ``features``, ``avgpool``, flatten, ``classifier``.

    ``head="imagenet"`` (default) is torchvision's: AdaptiveAvgPool2d((7, 7)), then Linear(512*7*7,
    4096), ReLU, Dropout(dropout), Linear(4096, 4096), ReLU, Dropout(dropout), Linear(4096, classes).

    ``head="cifar"`` (keyword only) is the widely used CIFAR VGG: on a 32x32 image the five max-pools
    of ``features`` leave a 512x1x1 map, which is flattened (``avgpool`` is an Identity) into a single
    ``classifier`` = Linear(512, num_classes); ``dropout`` is unused. Inputs must then be 32x32.

    ``init_weights``: He-normal (fan_out) convolutions, N(0, 0.01) linears, zero biases, batch norm 1/0.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True, dropout: float = 0.5,
                 *, head: str = "imagenet") -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"VGG: head must be one of {', '.join(map(repr, HEADS))}, got {head!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"VGG: dropout probability has to be between 0 and 1, but got {dropout}")
        self.features = features
        if head == "imagenet":
            self.avgpool: nn.Module = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier: nn.Module = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
                nn.Linear(4096, num_classes))
        else:
            self.avgpool = nn.Identity()
            self.classifier = nn.Linear(512, num_classes)
        if init_weights:
            self._init_like_torchvision()

    def _init_like_torchvision(self) -> None:
        for module in self.modules():
            if isinstance(module, ENGINE_LAYERS.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)
            elif isinstance(module, ENGINE_LAYERS.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.constant_(module.bias, 0)

    def forward(self, x):  # type: ignore[override]
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def make_layers(configuration: Sequence[int | str], batch_norm: bool = False) -> nn.Sequential:
    """torchvision's ``features``: 3x3 convolutions (with bias, even before batch norm, as torchvision
    has them) + [BatchNorm2d] + ReLU, and 2x2 max-pools where the configuration says POOL."""
    layers: list[nn.Module] = []
    in_channels = 3
    for entry in configuration:
        if entry == POOL:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, int(entry), kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(entry)))
        layers.append(nn.ReLU(inplace=True))
        in_channels = int(entry)
    return nn.Sequential(*layers)


def _vgg(name: str, configuration: str, batch_norm: bool, weights: Any, kwargs: dict[str, Any]) -> VGG:
    refuse_pretrained(name, weights)
    return VGG(make_layers(CONFIGURATIONS[configuration], batch_norm=batch_norm), **kwargs)


def vgg11(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration A); ``kwargs`` go to VGG (e.g. num_classes, head="cifar")."""
    return _vgg("vgg11", "A", False, weights, kwargs)


def vgg11_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with batch norm after every convolution; ``kwargs`` go to VGG."""
    return _vgg("vgg11_bn", "A", True, weights, kwargs)


def vgg16(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration D); ``kwargs`` go to VGG."""
    return _vgg("vgg16", "D", False, weights, kwargs)


def vgg16_bn(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with batch norm after every convolution; ``kwargs`` go to VGG."""
    return _vgg("vgg16_bn", "D", True, weights, kwargs)


__all__ = ["VGG", "make_layers", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]
