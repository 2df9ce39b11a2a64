"""``dlcore.vision``: torchvision's counterpart, so ``from dlcore.vision import datasets, transforms``
reads as it does with torchvision. Pillow is optional (``pip install dlcore[vision]``): only the
transforms that resample need it, and ``utils.save_image``.
"""
from . import datasets, functional, transforms, utils

__all__ = ["datasets", "functional", "transforms", "utils"]
