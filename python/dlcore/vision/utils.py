"""torchvision.utils' image-grid helpers: ``make_grid`` tiles a batch of images into one CxHxW
image (torchvision's layout, padding, grey-to-RGB and normalisation rules) and ``save_image``
writes that grid as an image file through Pillow (``pip install dlcore[vision]``).

The grid is built from tensor ops (pad, cat, reshape), so it stays on the input's device and
dtype and carries its autograd history.
"""
from __future__ import annotations

import math
import os
from typing import IO, Any, Sequence

from .. import _C
from ..autograd import no_grad
from ..nn.functional import pad

Tensor = _C.Tensor


def _as_batch(tensor: Any) -> Any:
    """A 4-D batch from a tensor (HxW, CxHxW or BxCxHxW) or a list of equally sized images."""
    if not isinstance(tensor, Tensor):
        if not isinstance(tensor, list):
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
        for t in tensor:
            if not isinstance(t, Tensor):
                raise TypeError(f"tensor or list of tensors expected, got a list containing {type(t)}")
        tensor = _C.stack(tensor, 0)
    if tensor.dim() == 2:  # a single greyscale image
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:  # a single image
        if tensor.shape[0] == 1:
            tensor = _C.cat([tensor, tensor, tensor], 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 4:
        raise ValueError(f"make_grid: expected a 2-D, 3-D or 4-D tensor, got {tensor.dim()} dimensions "
                         f"(shape {tuple(tensor.shape)})")
    if tensor.shape[1] == 1:  # greyscale batch -> 3 identical channels
        tensor = _C.cat([tensor, tensor, tensor], 1)
    return tensor


def _normalized(images: Any, value_range: tuple[float, float] | None) -> Any:
    """``images`` clamped to [low, high] (the given range, else its own min and max) and mapped to [0, 1]."""
    if value_range is not None:
        low, high = float(value_range[0]), float(value_range[1])
    else:
        low, high = float(images.min().item()), float(images.max().item())
    return (images.clamp(min=low, max=high) - low) / max(high - low, 1e-5)


def make_grid(tensor: Any, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tiles a batch of images (BxCxHxW, or a list of CxHxW) into one image, ``nrow`` per row, as
    torchvision.utils.make_grid: every cell has ``padding`` pixels of ``pad_value`` above and to its
    left, the grid ``padding`` more below and to its right, and unfilled cells are ``pad_value``.
    One-channel images become three identical channels. ``normalize`` maps ``value_range`` (default:
    the images' min and max, per image with ``scale_each``) to [0, 1]. A batch of one image is
    returned as that image, without padding."""
    batch = _as_batch(tensor)
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")
        if not batch.is_floating_point():
            raise RuntimeError(f"make_grid(normalize=True): result type Float can't be cast to the desired "
                               f"output type {str(batch.dtype).split('.')[-1].capitalize()}")
        if scale_each:
            batch = _C.stack([_normalized(image, value_range) for image in batch.unbind(0)], 0)
        else:
            batch = _normalized(batch, value_range)
    if batch.shape[0] == 1:
        return batch.squeeze(0)

    count, channels, height, width = (int(s) for s in batch.shape)
    columns = min(int(nrow), count)
    rows = int(math.ceil(count / columns))
    # Each cell: padding above and to the left of its image.
    cells = pad(batch, (padding, 0, padding, 0), value=pad_value) if padding else batch
    missing = rows * columns - count
    if missing:
        blank = cells.new_full((missing, channels, height + padding, width + padding), pad_value)
        cells = _C.cat([cells, blank], 0)
    grid = cells.reshape(rows, columns, channels, height + padding, width + padding).permute(2, 0, 3, 1, 4)
    grid = grid.reshape(channels, rows * (height + padding), columns * (width + padding))
    return pad(grid, (0, padding, 0, padding), value=pad_value) if padding else grid


def save_image(tensor: Any, fp: str | os.PathLike | IO[bytes], format: str | None = None,  # noqa: A002
               **kwargs: Any) -> None:
    """Writes ``make_grid(tensor, **kwargs)`` as an 8-bit image (values in [0, 1] scaled to
    0..255, rounded, clamped) to a path or binary file; ``format`` as Pillow's (inferred from the
    file name when omitted). Needs Pillow."""
    try:
        from PIL import Image  # noqa: PLC0415  (Pillow is optional)
    except ImportError as error:
        raise ImportError("save_image needs Pillow: pip install dlcore[vision] (or pillow)") from error
    with no_grad():
        grid = make_grid(tensor, **kwargs)  # CxHxW, C = 3 for greyscale input
        pixels = (grid * 255 + 0.5).clamp(0, 255).permute(1, 2, 0).to("cpu").to(_C.dtype.uint8)
    Image.fromarray(pixels.numpy()).save(fp, format=format)


__all__ = ["make_grid", "save_image"]
