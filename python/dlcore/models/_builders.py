"""What the ResNet and VGG builders share: the ``weights`` argument (torchvision downloads pretrained
weights for it, dlcore ships none, so anything but None is refused with the way to load a checkpoint
yourself)."""
from __future__ import annotations

from typing import Any


def refuse_pretrained(name: str, weights: Any) -> None:
    """Raises ValueError unless ``weights`` is None, saying how to load a state dict instead."""
    if weights is None:
        return
    raise ValueError(f"{name}: weights={weights!r}: dlcore ships no pretrained weights; build the model with "
                     f"weights=None and load a state dict, e.g. model = {name}(); "
                     f"model.load_state_dict(dlcore.load('{name}.pth')) (a torch.save file or a safetensors one)")
