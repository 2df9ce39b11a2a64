"""``dlcore.models``: the networks dlcore's jobs, benchmarks and tests train, and torchvision's ResNets
and VGGs (``dlcore.models`` stands in for ``torchvision.models``: same classes, builders, state-dict
keys and initialisation, no pretrained weights), with ``get_model`` / ``list_models`` to pick one by name.
"""
from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable

from .cifar_vgg import CifarVGG
from .lenet import LeNet5
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101
from .vgg import VGG, vgg11, vgg11_bn, vgg16, vgg16_bn

BUILDERS: dict[str, Callable[..., Any]] = {
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101,
    "vgg11": vgg11, "vgg11_bn": vgg11_bn, "vgg16": vgg16, "vgg16_bn": vgg16_bn,
}


def _patterns(value: str | Iterable[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def list_models(*, include: str | Iterable[str] | None = None, exclude: str | Iterable[str] | None = None) -> list[str]:
    """The names ``get_model`` knows, sorted; ``include`` / ``exclude`` filter them by fnmatch
    patterns ("resnet*"), as torchvision.models.list_models does."""
    names = sorted(BUILDERS)
    if include is not None:
        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in _patterns(include))]
    return [n for n in names if not any(fnmatch.fnmatch(n, p) for p in _patterns(exclude))]


def get_model(name: str, **config: Any) -> Any:
    """The model ``name`` builds with ``config`` (e.g. ``get_model("resnet18", num_classes=10, stem="cifar")``)."""
    key = name.lower()
    if key not in BUILDERS:
        raise ValueError(f"get_model: unknown model {name!r}; known models: {', '.join(sorted(BUILDERS))}")
    return BUILDERS[key](**config)


__all__ = ["LeNet5", "CifarVGG", "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
           "resnet101", "VGG", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "get_model", "list_models"]
