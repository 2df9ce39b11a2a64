"""``dlcore.vision.datasets``: the image datasets under torchvision's module name. They are
dlcore.data's readers (one implementation: the in-memory MNIST and CIFAR10, and the on-disk
ImageFolder/DatasetFolder with their loaders), which take torchvision's ``transform=`` and
``target_transform=`` and work with ``dlcore.utils.data.DataLoader``.
"""
from ..data.cifar10 import CIFAR10
from ..data.folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from ..data.mnist import MNIST

__all__ = ["MNIST", "CIFAR10", "ImageFolder", "DatasetFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader"]
