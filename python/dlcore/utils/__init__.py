"""``dlcore.utils``: torch.utils's counterpart; ``dlcore.utils.data`` holds datasets, samplers and the DataLoader."""
from . import data

__all__ = ["data"]
