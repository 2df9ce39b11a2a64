"""Where loaded tensors go: torch's ``map_location`` argument, shared by the readers of dlcore's
safetensors checkpoints and of PyTorch's files (serialization, torch_format).
"""
from __future__ import annotations

from typing import Any, Callable, Union

from . import _C

MapLocation = Union[None, str, _C.device, dict, Callable[[Any, str], Any]]


def _device_text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, _C.device) or hasattr(value, "type"):  # a dl.device, or a torch.device
        return str(value)
    raise TypeError(f"load: {what} must be a str or a device, got {type(value).__name__}")


class Placement:
    """``map_location`` in torch's forms. A tensor loads onto the CPU unless map_location says otherwise:

    - None: the CPU (dlcore never puts a tensor on a GPU unasked; torch would use the saved device);
    - a str or dl.device ('cuda', 'cuda:1'): every tensor there;
    - a dict mapping saved locations to targets ({'cuda:1': 'cpu'}): mapped ones there, others on the CPU;
    - a callable ``(storage, location) -> tensor or None``: ``storage`` is a 1-D CPU tensor of the
      storage's elements and ``location`` the saved device ('cpu', 'cuda:0'); it returns the storage
      moved where it should go (same elements, any device), or None for the CPU.
    """

    def __init__(self, map_location: MapLocation) -> None:
        self.target: str | None = None
        self.mapping: dict[str, str] | None = None
        self.function: Callable[[Any, str], Any] | None = None
        if map_location is None:
            return
        if isinstance(map_location, dict):
            self.mapping = {_device_text(k, "a map_location key"): _device_text(v, "a map_location value")
                            for k, v in map_location.items()}
        elif isinstance(map_location, (str, _C.device)) or hasattr(map_location, "type"):
            self.target = _device_text(map_location, "map_location")
        elif callable(map_location):
            self.function = map_location
        else:
            raise TypeError(f"load: map_location must be None, a str, a device, a dict or a callable, "
                            f"got {type(map_location).__name__}")

    def place(self, storage: _C.Tensor, location: str) -> _C.Tensor:
        """``storage`` (1-D, CPU) where it should go for a tensor saved on ``location``."""
        target = self.target
        if self.mapping is not None:
            target = self.mapping.get(location)
        elif self.function is not None:
            moved = self.function(storage, location)
            if moved is None:
                return storage
            if not isinstance(moved, _C.Tensor) or moved.numel() != storage.numel() or moved.dtype != storage.dtype:
                raise TypeError(f"load: the map_location callable must return the storage it was given (a 1-D "
                                f"{storage.dtype} tensor of {storage.numel()} elements, on any device) or None, "
                                f"got {moved!r:.80}")
            return moved.reshape(-1)
        return storage if target is None else storage.to(target)


class PlacementFailed(Exception):
    """Carries an error raised while moving tensors (map_location's own errors) past the checks
    that turn a malformed file's errors into ValueError."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def place(placement: Placement, storage: _C.Tensor, location: str) -> _C.Tensor:
    try:
        return placement.place(storage, location)
    except Exception as error:
        raise PlacementFailed(error) from error
