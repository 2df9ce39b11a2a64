"""A minimal PNG encoder (8-bit RGB or RGBA, no filtering) for add_image.

TensorBoard wants images PNG-encoded; zlib from the standard library is all PNG needs, so the
writer does not depend on Pillow (an extra that only the CIFAR-10 JPEG reader requires).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

# PNG colour types by channel count: truecolour, truecolour with alpha.
_COLOUR_TYPES = {3: 2, 4: 6}


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 array shaped height x width x channels (3 or 4 channels)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in _COLOUR_TYPES:
        raise ValueError(f"encode_png: expected a uint8 HxWx(3|4) array, got {image.dtype} {tuple(image.shape)}")
    height, width, channels = image.shape
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    # Each scanline starts with its filter type; 0 (none) keeps the encoder trivial, zlib does the rest.
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * channels)], axis=1)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _chunk(b"IEND", b""))
