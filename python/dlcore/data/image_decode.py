"""Image files -> RGB PIL images for ImageFolder: torchvision's ``pil_loader`` and ``default_loader``.

``default_loader`` decodes baseline and progressive YCbCr or greyscale JPEGs with simplejpeg when it
is installed (libjpeg-turbo straight into a numpy array, then one plain copy into the PIL image: the
fastest exact decoder here, see bench/jpeg_decode.py and the README's ImageNet section) and every
other file with Pillow. Both run libjpeg-turbo with its default (accurate integer) DCT and smooth
chroma upsampling, so the pixels are those torchvision's loader sees; tests_py/test_image_folder.py
checks that. A file either decoder refuses goes to Pillow, so what fails (and what Pillow accepts
despite a warning) is what fails under torchvision; the error then names the file, which Pillow's
own "image file is truncated" does not.
"""
from __future__ import annotations

import io
from typing import Any

try:
    import simplejpeg
except ImportError:  # optional: Pillow decodes everything without it
    simplejpeg = None

_JPEG_MAGIC = b"\xff\xd8"
# What simplejpeg turns into RGB the way Pillow's convert("RGB") does; CMYK/YCCK go to Pillow.
_SIMPLEJPEG_COLORSPACES = ("YCbCr", "Gray")


def _pil_image_module() -> Any:
    from ..vision.functional import require_pil  # noqa: PLC0415  (dlcore.vision imports this package)

    return require_pil("default_loader")


def _named(error: BaseException, path: str, unidentified: bool) -> BaseException:
    """``error`` again, of the same type where it allows, with a message that starts with the file."""
    # Pillow names an unidentified in-memory file by the buffer's repr, which says nothing here.
    detail = "Pillow cannot identify its format" if unidentified else str(error)
    message = f"cannot decode image file {path!r}: {detail}"
    try:
        return type(error)(message)
    except Exception:  # an exception type whose constructor wants other arguments
        return OSError(message)


def _pil_decode(data: Any, path: str) -> Any:
    Image = _pil_image_module()
    try:
        with Image.open(data) as image:
            return image.convert("RGB")  # convert() loads: a truncated file fails here, inside the try
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError) as error:  # PIL's decoders raise all three
        raise _named(error, path, isinstance(error, Image.UnidentifiedImageError)) from error


def pil_loader(path: str) -> Any:
    """``path`` decoded by Pillow, as an RGB ``PIL.Image`` (torchvision's pil_loader)."""
    return _pil_decode(path, path)


def _simplejpeg_decode(data: bytes) -> Any:
    """The RGB image simplejpeg decodes from ``data``, or None when Pillow must decode it."""
    try:
        _, _, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        if colorspace not in _SIMPLEJPEG_COLORSPACES:
            return None
        # Four bytes a pixel, as a PIL RGB image stores them: filling it is then a plain copy, where
        # fromarray's 3-to-4-byte repacking cost more than the decode saved on 1000-pixel files.
        array = simplejpeg.decode_jpeg(data, colorspace="RGBX")
    except ValueError:  # corrupt, truncated or merely odd: Pillow decides (and names the file)
        return None
    return _pil_image_module().frombytes("RGB", (array.shape[1], array.shape[0]), array, "raw", "RGBX")


def default_loader(path: str) -> Any:
    """``path`` as an RGB ``PIL.Image``, decoded by the fastest exact decoder installed (module note)."""
    if simplejpeg is None:
        return pil_loader(path)
    with open(path, "rb") as file:
        data = file.read()
    image = _simplejpeg_decode(data) if data[:2] == _JPEG_MAGIC else None
    if image is not None:
        return image
    return _pil_decode(io.BytesIO(data), path)


__all__ = ["default_loader", "pil_loader"]
