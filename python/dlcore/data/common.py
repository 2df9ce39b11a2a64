# Shared pieces of dlcore's dataset readers: where the data lives, how uint8 images become the
# normalised float32 NCHW batches a model eats, and the "dataset not found" message. Pure numpy and
# stdlib so that the PyTorch baseline can use the very same readers and get identical inputs.
from __future__ import annotations

import os
import pathlib
from typing import Sequence

import numpy as np


def data_root(explicit: str | os.PathLike | None = None) -> pathlib.Path:
    """The dataset root: `explicit` if given, else `$DLCORE_DATA`, else `./data`."""
    if explicit is not None and str(explicit) != "":
        return pathlib.Path(explicit).expanduser()
    env = os.environ.get("DLCORE_DATA", "")
    if env:
        return pathlib.Path(env).expanduser()
    return pathlib.Path("data")


def _channel_lookup_tables(mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    # The arithmetic mirrors torchvision's ToTensor + Normalize in float32 (x / 255, then
    # (x - mean) / std), so both frameworks see bit-identical inputs. Doing it once per byte value
    # and gathering is faster than three passes over the batch.
    byte_values = np.arange(256, dtype=np.float32) / np.float32(255)
    mean32 = np.asarray(mean, dtype=np.float32).reshape(-1, 1)
    std32 = np.asarray(std, dtype=np.float32).reshape(-1, 1)
    return (byte_values[None, :] - mean32) / std32


def normalize_images(images_u8: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """uint8 images [B,H,W] or [B,H,W,C] -> float32 [B,C,H,W] with (x/255 - mean) / std per channel."""
    images_u8 = np.asarray(images_u8)
    if images_u8.dtype != np.uint8:
        raise ValueError(f"normalize_images: expected uint8 images, got dtype {images_u8.dtype}")
    if images_u8.ndim == 3:
        images_u8 = images_u8[..., None]
    if images_u8.ndim != 4:
        raise ValueError(
            f"normalize_images: expected images of shape [B,H,W] or [B,H,W,C], got {list(images_u8.shape)}")
    batch, height, width, channels = images_u8.shape
    if len(mean) != channels or len(std) != channels:
        raise ValueError(
            f"normalize_images: images have {channels} channel(s) but mean has {len(mean)} and std "
            f"has {len(std)} values")
    if any(float(s) == 0.0 for s in std):
        raise ValueError(f"normalize_images: std must be non-zero, got {tuple(std)}")
    tables = _channel_lookup_tables(mean, std)
    out = np.empty((batch, channels, height, width), dtype=np.float32)
    for channel in range(channels):
        out[:, channel] = tables[channel][images_u8[..., channel]]
    return out


def dataset_missing_message(dataset: str, looked_for: Sequence[os.PathLike | str], layout_hint: str) -> str:
    """One message that says where we looked and the three ways to get the data."""
    places = "\n".join(f"  {p}" for p in looked_for)
    return (
        f"{dataset} dataset not found. Looked for:\n{places}\n"
        f"Expected layout: {layout_hint}\n"
        f"To get it: set DLCORE_DATA (or pass --data) to the directory that holds it, "
        f"or pass download=True (--download on the trainers) to fetch it."
    )

