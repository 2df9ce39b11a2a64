"""Image operations behind ``dlcore.vision.transforms``, one function per operation, each working on
the three image kinds torchvision's transforms see: PIL images, numpy arrays HxW or HxWxC, and
dlcore tensors (..., C, H, W). Each returns the kind it was given.

Everything but resizing is numpy. Resizing uses Pillow's filters for every kind (a tensor's
channels go through Pillow's float mode), so results match torchvision's PIL path and are close to
its antialiased tensor path; Pillow is optional and only ``resize`` asks for it.
"""
from __future__ import annotations

import sys
from enum import Enum
from typing import Any, Sequence

import numpy as np

from .. import _C
from .._C import Tensor, from_numpy
from .._default_dtype import get_default_dtype


class InterpolationMode(Enum):
    """Resampling filters by torchvision's names."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTERS = {InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0, InterpolationMode.LANCZOS: 1,
                InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3, InterpolationMode.BOX: 4,
                InterpolationMode.HAMMING: 5}
PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def require_pil(what: str) -> Any:
    """PIL.Image, or an ImportError in one line that says how to install it."""
    try:
        from PIL import Image  # noqa: PLC0415  (optional dependency)
    except ImportError:
        raise ImportError(f"dlcore.vision.transforms.{what} needs Pillow, which is not installed: "
                          f"pip install dlcore[vision]") from None
    return Image


def is_pil_image(image: Any) -> bool:
    # Only an already-imported PIL can have made the object, so this never imports Pillow.
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(image, module.Image)


def image_kind(image: Any, what: str) -> str:
    """'pil', 'numpy' or 'tensor'; a TypeError naming the transform for anything else."""
    if is_pil_image(image):
        return "pil"
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3):
            raise ValueError(f"{what}: a numpy image must be HxW or HxWxC, got shape {list(image.shape)}")
        return "numpy"
    if isinstance(image, Tensor):
        if image.dim() < 2:
            raise ValueError(f"{what}: a tensor image must be (..., H, W), got shape {list(image.shape)}")
        return "tensor"
    raise TypeError(f"{what}: img should be a PIL Image, a numpy array or a dlcore Tensor. Got {type(image)}")


def get_size(image: Any, what: str = "get_size") -> tuple[int, int]:
    """(height, width) of any image kind."""
    kind = image_kind(image, what)
    if kind == "pil":
        return image.size[1], image.size[0]
    if kind == "numpy":
        return int(image.shape[0]), int(image.shape[1])
    return int(image.shape[-2]), int(image.shape[-1])


def _to_chw_array(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _from_array_like(array: np.ndarray, like: Any) -> Any:
    result = from_numpy(np.ascontiguousarray(array))
    return result if str(like.device) == "cpu" else result.to(like.device)


def pad_array(array: np.ndarray, padding_ltrb: Sequence[int], fill: Any = 0, mode: str = "constant",
              height_axis: int = 0, channel_axis: int | None = None) -> np.ndarray:
    """Pads the H and W axes (``height_axis`` and the next one) by (left, top, right, bottom).

    ``fill`` (constant mode) is one value or one per channel along ``channel_axis``; the other
    modes repeat the edge pixel, reflect without it, or reflect with it (numpy's edge, reflect,
    symmetric), as torchvision's padding modes do.
    """
    left, top, right, bottom = (int(p) for p in padding_ltrb)
    if min(left, top, right, bottom) < 0:
        raise ValueError(f"pad: negative padding {list(padding_ltrb)} is not supported")
    widths = [(0, 0)] * array.ndim
    widths[height_axis] = (top, bottom)
    widths[height_axis + 1] = (left, right)
    if mode != "constant":
        return np.pad(array, widths, mode=mode)
    shape = tuple(size + before + after for size, (before, after) in zip(array.shape, widths))
    padded = np.empty(shape, dtype=array.dtype)
    fill_values = np.asarray(fill, dtype=np.float64)
    if fill_values.ndim == 0 or fill_values.size == 1 or channel_axis is None:
        padded[...] = np.asarray(fill_values.reshape(-1)[0] if fill_values.size else 0).astype(array.dtype)
    else:
        if fill_values.size != array.shape[channel_axis]:
            raise ValueError(f"pad: fill has {fill_values.size} values for {array.shape[channel_axis]} channels")
        view_shape = [1] * array.ndim
        view_shape[channel_axis] = -1
        padded[...] = fill_values.astype(array.dtype).reshape(view_shape)
    inside = tuple(slice(before, before + size) for size, (before, _) in zip(array.shape, widths))
    padded[inside] = array
    return padded


def pad(image: Any, padding_ltrb: Sequence[int], fill: Any = 0, mode: str = "constant") -> Any:
    """Pads any image kind on its left, top, right and bottom."""
    if mode not in PADDING_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    kind = image_kind(image, "Pad")
    fill = 0 if fill is None else fill
    if kind == "pil":
        return _array_to_pil_like(pad_array(np.asarray(image), padding_ltrb, fill, mode, 0,
                                            2 if len(image.getbands()) > 1 else None), image)
    if kind == "numpy":
        return pad_array(image, padding_ltrb, fill, mode, 0, 2 if image.ndim == 3 else None)
    array = _to_chw_array(image)
    channel_axis = array.ndim - 3 if array.ndim >= 3 else None
    return _from_array_like(pad_array(array, padding_ltrb, fill, mode, array.ndim - 2, channel_axis), image)


def _array_to_pil_like(array: np.ndarray, like: Any) -> Any:
    """A PIL image of ``like``'s mode (and palette) holding ``array`` (laid out as np.asarray gives it)."""
    Image = require_pil("Pad")
    if like.mode == "1":  # np.asarray of a 1-bit image is bool, which fromarray maps back to mode "1"
        return Image.fromarray(array.astype(bool))
    result = Image.frombytes(like.mode, (array.shape[1], array.shape[0]), np.ascontiguousarray(array).tobytes())
    if like.mode == "P" and like.getpalette() is not None:
        result.putpalette(like.getpalette())
    return result


def crop(image: Any, top: int, left: int, height: int, width: int) -> Any:
    """The height x width window whose top-left corner is (top, left); it must lie inside the image."""
    kind = image_kind(image, "crop")
    if kind == "pil":
        return image.crop((left, top, left + width, top + height))
    if kind == "numpy":
        return image[top:top + height, left:left + width].copy()
    return image[..., top:top + height, left:left + width].contiguous()


def hflip(image: Any) -> Any:
    """Mirrors left-right."""
    kind = image_kind(image, "RandomHorizontalFlip")
    if kind == "pil":
        return image.transpose(require_pil("RandomHorizontalFlip").Transpose.FLIP_LEFT_RIGHT)
    if kind == "numpy":
        return image[:, ::-1].copy()
    reverse = from_numpy(np.arange(image.shape[-1] - 1, -1, -1, dtype=np.int64)).to(image.device)
    return image.index_select(image.dim() - 1, reverse)


def _pil_filter(interpolation: Any) -> int:
    if isinstance(interpolation, InterpolationMode):
        return _PIL_FILTERS[interpolation]
    if isinstance(interpolation, int) and 0 <= interpolation <= 5:  # Pillow's own constants
        return interpolation
    raise TypeError(f"interpolation should be an InterpolationMode or a Pillow resampling filter, got {interpolation!r}")


def resize(image: Any, size_hw: Sequence[int], interpolation: Any = InterpolationMode.BILINEAR) -> Any:
    """Resamples to exactly (height, width) with a Pillow filter (antialiased when shrinking)."""
    height, width = int(size_hw[0]), int(size_hw[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"resize: the output size must be positive, got {(height, width)}")
    kind = image_kind(image, "Resize")
    Image = require_pil("Resize")
    resample = _pil_filter(interpolation)
    if kind == "pil":
        return image.resize((width, height), resample)
    if kind == "numpy":
        if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[2] in (3, 4)):
            return np.asarray(Image.fromarray(image).resize((width, height), resample))
        planes = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]
        out = np.stack([_resize_plane(plane, Image, width, height, resample) for plane in planes], axis=-1)
        return _cast_like(out if image.ndim == 3 else out[..., 0], image.dtype)
    array = _to_chw_array(image)
    planes = array.reshape((-1,) + array.shape[-2:])
    out = np.stack([_resize_plane(plane, Image, width, height, resample) for plane in planes])
    return _from_array_like(_cast_like(out.reshape(array.shape[:-2] + (height, width)), array.dtype), image)


def _cast_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float resampling results back in the input's dtype; integers are rounded and clipped."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    return values.astype(dtype)


def _resize_plane(plane: np.ndarray, Image: Any, width: int, height: int, resample: int) -> np.ndarray:
    # Pillow's float mode keeps a plane's values exactly; the filter runs in float32.
    source = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(source.resize((width, height), resample), dtype=np.float32)


def to_tensor(picture: Any) -> Any:
    """PIL image or numpy HxW(xC) -> tensor CxHxW; uint8 data is scaled to [0, 1] in the default
    dtype (float32 unless ``dl.set_default_dtype`` changed it), as torchvision does."""
    if is_pil_image(picture):
        array = _pil_array(picture)
    elif isinstance(picture, np.ndarray):
        if picture.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {picture.ndim} dimensions.")
        array = picture
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(picture)}")
    if array.ndim == 2:
        array = array[:, :, None]
    planes = array.transpose(2, 0, 1)
    if array.dtype == np.uint8:  # x / 255 in the default dtype, the arithmetic of torchvision and of normalize_images
        default = get_default_dtype()
        if default == _C.dtype.bfloat16:  # numpy has no bfloat16: divide exactly, then round once
            return _C.tensor(np.divide(planes, 255.0, dtype=np.float64), dtype=default)
        kind = {_C.dtype.float16: np.float16, _C.dtype.float32: np.float32, _C.dtype.float64: np.float64}[default]
        return from_numpy(np.divide(planes, kind(255), dtype=kind))
    return from_numpy(np.ascontiguousarray(planes))


def _pil_array(picture: Any) -> np.ndarray:
    # torchvision's per-mode rules: 32-bit integer and float images keep their values; 16-bit ones
    # widen to int32 (dlcore has no int16); 1-bit images become 0/255 bytes; the rest are bytes.
    if picture.mode == "I":
        return np.asarray(picture, dtype=np.int32)
    if picture.mode.startswith("I;16"):
        return np.asarray(picture).astype(np.int32)
    if picture.mode == "F":
        return np.asarray(picture, dtype=np.float32)
    if picture.mode == "1":
        return np.asarray(picture, dtype=np.uint8) * np.uint8(255)
    return np.asarray(picture)


__all__ = ["InterpolationMode", "pad", "pad_array", "crop", "hflip", "resize", "to_tensor", "get_size"]
