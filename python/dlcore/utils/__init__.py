"""``dlcore.utils``: torch.utils's counterpart; ``dlcore.utils.data`` holds datasets, samplers and the
DataLoader. ``make_grid`` and ``save_image`` (torchvision.utils', defined in ``dlcore.vision.utils``)
are re-exported here too."""
from __future__ import annotations

from typing import Any

from . import data

__all__ = ["data", "make_grid", "save_image"]


def __getattr__(name: str) -> Any:
    # Resolved on first use: dlcore.vision imports dlcore.data, which imports dlcore.utils.data.
    if name in ("make_grid", "save_image"):
        from ..vision import utils as vision_utils  # noqa: PLC0415
        return getattr(vision_utils, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
