"""``dlcore.vision.datasets``: the image datasets under torchvision's module name. They are
dlcore.data's in-memory readers (one implementation), which take torchvision's ``transform=`` and
``target_transform=`` and work with ``dlcore.utils.data.DataLoader``.
"""
from ..data.cifar10 import CIFAR10
from ..data.mnist import MNIST

__all__ = ["MNIST", "CIFAR10"]
