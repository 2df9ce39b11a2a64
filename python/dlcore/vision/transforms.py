"""``dlcore.vision.transforms``: torchvision.transforms' common image transforms with its names,
arguments and rules, on PIL images, numpy HxW(xC) arrays and dlcore CxHxW tensors.

Random transforms draw from dlcore's global generator, as torchvision's draw from torch's: a
``dl.manual_seed`` fixes them, and DataLoader workers seed it per worker. Only the resizing
transforms (Resize, RandomResizedCrop) need Pillow; without it they raise one line naming
``pip install dlcore[vision]``, and everything else keeps working.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .._C import Tensor, from_numpy
from .._generator import _global_randint, _global_uniform
from . import functional as F
from .functional import InterpolationMode


def _setup_size(size: Any, error_msg: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(error_msg)
    return int(size[0]), int(size[1])


def _padding_ltrb(padding: Any) -> tuple[int, int, int, int]:
    """torchvision's padding forms: p (all sides), [p], [left/right, top/bottom], [l, t, r, b]."""
    if isinstance(padding, numbers.Number):
        return (int(padding),) * 4
    padding = list(padding)
    if len(padding) == 1:
        return (int(padding[0]),) * 4
    if len(padding) == 2:
        return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
    if len(padding) == 4:
        return tuple(int(p) for p in padding)  # type: ignore[return-value]
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")


class Compose:
    """Applies ``transforms`` one after another."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


class Lambda:
    """Applies a user function as a transform."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor:
    """PIL image or numpy HxW(xC) -> tensor CxHxW; uint8 images become float32 in [0, 1]."""

    def __call__(self, pic: Any) -> Any:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(tensor - mean) / std`` per channel of a float tensor (..., C, H, W)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace
        self._constants: dict = {}  # (dtype, device, channels) -> (mean, std) tensors, made once

    def __call__(self, tensor: Any) -> Any:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.dim() < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {tuple(tensor.shape)}")
        key = (str(tensor.dtype), str(tensor.device), tensor.shape[-3])
        constants = self._constants.get(key)
        if constants is None:
            constants = self._constants[key] = self._make_constants(tensor, from_numpy)
        mean_t, std_t = constants
        if self.inplace:
            return tensor.sub_(mean_t).div_(std_t)
        return (tensor - mean_t) / std_t

    def _make_constants(self, tensor: Any, from_numpy: Callable[[np.ndarray], Any]) -> tuple[Any, Any]:
        # mean and std in the tensor's dtype, shaped [C, 1, 1] to broadcast over H and W, as torchvision does
        numpy_dtype = np.float64 if str(tensor.dtype) == "dlcore.float64" else np.float32
        mean = np.asarray(self.mean, dtype=numpy_dtype).reshape(-1)
        std = np.asarray(self.std, dtype=numpy_dtype).reshape(-1)
        if np.any(std == 0):
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
        channels = tensor.shape[-3]
        if mean.size not in (1, channels) or std.size not in (1, channels):
            raise RuntimeError(f"Normalize: mean has {mean.size} and std {std.size} values for a tensor with "
                               f"{channels} channels (shape {tuple(tensor.shape)})")
        return tuple(from_numpy(values.reshape(-1, 1, 1)).to(tensor.device).to(tensor.dtype) for values in (mean, std))

    def __getstate__(self) -> dict:
        # the cached tensors are rebuilt wherever the transform is unpickled (a spawned worker)
        return {**self.__dict__, "_constants": {}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class RandomHorizontalFlip:
    """Mirrors the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        if _global_uniform() < self.p:
            return F.hflip(img)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomCrop:
    """Crops a random ``size`` window, after optional ``padding`` (and ``pad_if_needed`` padding up to
    ``size``) with ``fill`` or the edge/reflect/symmetric ``padding_mode``."""

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: Any = 0, padding_mode: str = "constant") -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        if padding is not None:
            _padding_ltrb(padding)  # validates now, as torchvision does
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        if padding_mode not in F.PADDING_MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a random crop of ``output_size``."""
        height, width = F.get_size(img, "RandomCrop")
        crop_height, crop_width = output_size
        if height < crop_height or width < crop_width:
            raise ValueError(f"Required crop size {(crop_height, crop_width)} is larger than input image size "
                             f"{(height, width)}")
        if height == crop_height and width == crop_width:
            return 0, 0, height, width
        top = _global_randint(0, height - crop_height + 1)
        left = _global_randint(0, width - crop_width + 1)
        return top, left, crop_height, crop_width

    def __call__(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, _padding_ltrb(self.padding), self.fill, self.padding_mode)
        height, width = F.get_size(img, "RandomCrop")
        if self.pad_if_needed and width < self.size[1]:
            extra = self.size[1] - width
            img = F.pad(img, (extra, 0, extra, 0), self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            extra = self.size[0] - height
            img = F.pad(img, (0, extra, 0, extra), self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class CenterCrop:
    """Crops the central ``size`` window, padding with zeros first when the image is smaller."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def __call__(self, img: Any) -> Any:
        crop_height, crop_width = self.size
        height, width = F.get_size(img, "CenterCrop")
        if crop_width > width or crop_height > height:
            padding = ((crop_width - width) // 2 if crop_width > width else 0,
                       (crop_height - height) // 2 if crop_height > height else 0,
                       (crop_width - width + 1) // 2 if crop_width > width else 0,
                       (crop_height - height + 1) // 2 if crop_height > height else 0)
            img = F.pad(img, padding, 0)
            height, width = F.get_size(img, "CenterCrop")
            if (crop_height, crop_width) == (height, width):
                return img
        top = int(round((height - crop_height) / 2.0))
        left = int(round((width - crop_width) / 2.0))
        return F.crop(img, top, left, crop_height, crop_width)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


def _resized_size(height: int, width: int, size: Sequence[int], max_size: int | None) -> tuple[int, int]:
    """torchvision's output size: (h, w) as given, or the shorter side set to size[0] keeping the
    aspect ratio (the longer side truncated), capped by ``max_size``."""
    if len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, "
                             "i.e. size should be an int or a sequence of length 1 in torchscript mode.")
        return int(size[0]), int(size[1])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = int(size[0]), int(size[0] * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the "
                             f"smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if width <= height else (new_short, new_long)


class Resize:
    """Resizes to ``size`` (h, w), or the shorter side to ``size`` keeping the aspect ratio. Needs Pillow.

    ``antialias`` is accepted for torchvision compatibility; Pillow's filters always antialias.
    """

    def __init__(self, size: int | Sequence[int], interpolation: Any = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.max_size = max_size
        self.interpolation = interpolation
        self.antialias = antialias

    def __call__(self, img: Any) -> Any:
        height, width = F.get_size(img, "Resize")
        size = [self.size] if isinstance(self.size, int) else list(self.size)
        output = _resized_size(height, width, size, self.max_size)
        if output == (height, width):
            return img
        return F.resize(img, output, self.interpolation)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation}, max_size={self.max_size})"


class RandomResizedCrop:
    """A random crop of random area (``scale`` of the image) and aspect ratio (``ratio``), resized to
    ``size``. Needs Pillow."""

    def __init__(self, size: int | Sequence[int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0), interpolation: Any = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.scale = scale
        self.ratio = ratio
        self.interpolation = interpolation
        self.antialias = antialias

    @staticmethod
    def get_params(img: Any, scale: Sequence[float], ratio: Sequence[float]) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the crop: ten tries at a random area and aspect ratio,
        then the whole image cut to the nearest allowed ratio, as torchvision does."""
        height, width = F.get_size(img, "RandomResizedCrop")
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * (scale[0] + (scale[1] - scale[0]) * _global_uniform())
            aspect_ratio = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * _global_uniform())
            crop_width = int(round(math.sqrt(target_area * aspect_ratio)))
            crop_height = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < crop_width <= width and 0 < crop_height <= height:
                top = _global_randint(0, height - crop_height + 1)
                left = _global_randint(0, width - crop_width + 1)
                return top, left, crop_height, crop_width
        in_ratio = width / height
        if in_ratio < min(ratio):
            crop_width, crop_height = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            crop_height, crop_width = height, int(round(height * max(ratio)))
        else:
            crop_width, crop_height = width, height
        return (height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width

    def __call__(self, img: Any) -> Any:
        F.require_pil("RandomResizedCrop")  # fail before drawing, not after
        top, left, height, width = self.get_params(img, self.scale, self.ratio)
        return F.resize(F.crop(img, top, left, height, width), self.size, self.interpolation)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio})"


def _fused_normalization(transform: Any, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(mean, std) when ``transform`` of a uint8 image equals ``(x / 255 - mean) / std`` in float32:
    None (taken as ToTensor), ToTensor, Normalize after ToTensor, or a Compose of those. Datasets use
    it to produce whole batches in one kernel; None means "apply the transform per sample"."""
    steps = [ToTensor()] if transform is None else (list(transform.transforms) if type(transform) is Compose
                                                    else [transform])
    if not steps or type(steps[0]) is not ToTensor:
        return None
    mean, std = (0.0,) * channels, (1.0,) * channels
    for step in steps[1:]:
        if type(step) is not Normalize or mean != (0.0,) * channels or std != (1.0,) * channels:
            return None  # anything but one Normalize after ToTensor runs per sample
        step_mean = np.asarray(step.mean, dtype=np.float32).reshape(-1)
        step_std = np.asarray(step.std, dtype=np.float32).reshape(-1)
        if step_mean.size not in (1, channels) or step_std.size not in (1, channels) or np.any(step_std <= 0):
            return None  # the per-sample path raises its error (or divides by a negative std)
        mean = tuple(float(v) for v in np.broadcast_to(step_mean, (channels,)))
        std = tuple(float(v) for v in np.broadcast_to(step_std, (channels,)))
    return mean, std


__all__ = ["Compose", "Lambda", "ToTensor", "Normalize", "RandomHorizontalFlip", "RandomCrop", "CenterCrop", "Resize",
           "RandomResizedCrop", "InterpolationMode"]
