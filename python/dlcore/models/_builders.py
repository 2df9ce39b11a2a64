"""What the ResNet and VGG builders share: the ``weights`` argument (torchvision downloads pretrained
weights for it, dlcore ships none, so anything but None is refused with the way to load a checkpoint
yourself) and the layer classes their initialisation loops test for."""
from __future__ import annotations

from typing import Any

from .._C import nn as ENGINE_LAYERS  # noqa: N812

# Why the engine's classes: a dl.nn.Conv2d or Linear (a Python subclass of the C++ layer) stored as a
# plain attribute of a Module comes back from modules() as the C++ class once its Python object is
# gone, so isinstance(module, dl.nn.Conv2d) would miss it (inside a Sequential it stays Python).


def refuse_pretrained(name: str, weights: Any) -> None:
    """Raises ValueError unless ``weights`` is None, saying how to load a state dict instead."""
    if weights is None:
        return
    raise ValueError(f"{name}: weights={weights!r}: dlcore ships no pretrained weights; build the model with "
                     f"weights=None and load a state dict, e.g. model = {name}(); "
                     f"model.load_state_dict(dlcore.load('{name}.pth')) (a torch.save file or a safetensors one)")
