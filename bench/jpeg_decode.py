#!/usr/bin/env python3
"""JPEG decoders on the same files, one core: which one dlcore's ImageFolder default_loader uses.

Files: ImageNet-like JPEGs (about 500x375, landscape and portrait, quality 90) that this script draws
from varied synthetic content (gradients + noise + shapes, so the DCT sees edges and texture as in
photographs), 1000x750 ones for the reduced-size (draft) decodes, and the 32x32 CIFAR-10 test JPEGs
read from $DLCORE_DATA/cifar10-jpeg/test.zip. All are held in memory: only decoding is timed.

Decoders: Pillow (open + convert("RGB"), torchvision's pil_loader), Pillow with draft() (a DCT-scaled
decode to the smallest 1/2, 1/4, 1/8 scale that still covers what Resize(256) needs), simplejpeg (into
numpy, and with the copy into a PIL image that transforms take), simplejpeg's scaled decode, and
PyTurboJPEG when its system library loads. Each reports images/s (one process, one thread) and, for
the reduced decodes, how far Resize(256) of them lands from Resize(256) of the full decode.
Writes bench/results/jpeg_decode_cpu.json.
"""
from __future__ import annotations

import argparse
import io
import os
import time
import zipfile
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageDraw

from common import alternating_median_times, machine, write_result


def synthetic_photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Gradients, low-frequency blobs, sensor-like noise and a few hard-edged shapes."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([rng.uniform(0, 255) + rng.uniform(-0.4, 0.4) * x + rng.uniform(-0.4, 0.4) * y
                     for _ in range(3)], axis=-1)
    for _ in range(4):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(20, 150)
        base += rng.uniform(-90, 90, size=3) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
    base += rng.normal(0, rng.uniform(4, 14), size=base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        box = [x0, y0, x0 + rng.uniform(10, width / 2), y0 + rng.uniform(10, height / 2)]
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=color)
    return image


def encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def imagenet_like(count: int, seed: int, large: bool) -> list[bytes]:
    rng = np.random.default_rng(seed)
    sizes = [(1000, 750), (750, 1000)] if large else [(500, 375), (375, 500), (500, 333), (500, 400)]
    return [encode(synthetic_photo(rng, *sizes[i % len(sizes)]), 90) for i in range(count)]


def cifar_files(count: int) -> list[bytes]:
    path = os.path.join(os.environ.get("DLCORE_DATA", "/work/shared/data"), "cifar10-jpeg", "test.zip")
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".jpg")][:count]
        return [archive.read(n) for n in names]


def pil_full(data: bytes) -> Any:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def pil_draft(data: bytes, short_side: int) -> Any:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        scale = short_side / min(width, height)
        # draft() picks the largest reduction whose result still covers the requested size.
        image.draft("RGB", (int(np.ceil(width * scale)), int(np.ceil(height * scale))))
        return image.convert("RGB")


def simplejpeg_rgbx_pil(data: bytes) -> Any:
    """dlcore's default_loader path: 4-byte pixels are what a PIL RGB image holds, so filling it is a
    plain copy rather than fromarray's 3-to-4-byte repacking."""
    import simplejpeg

    array = simplejpeg.decode_jpeg(data, colorspace="RGBX")
    return Image.frombytes("RGB", (array.shape[1], array.shape[0]), array, "raw", "RGBX")


def decoders() -> dict[str, Callable[[bytes], Any]]:
    import simplejpeg

    found: dict[str, Callable[[bytes], Any]] = {
        "pillow": pil_full,
        "simplejpeg_numpy": lambda d: simplejpeg.decode_jpeg(d, colorspace="RGB"),
        "simplejpeg_pil": lambda d: Image.fromarray(simplejpeg.decode_jpeg(d, colorspace="RGB")),
        "simplejpeg_rgbx_pil": simplejpeg_rgbx_pil,
    }
    try:
        from turbojpeg import TJPF_RGB, TurboJPEG
        turbo = TurboJPEG()
        found["pyturbojpeg_numpy"] = lambda d: turbo.decode(d, pixel_format=TJPF_RGB)
    except (ImportError, OSError, RuntimeError) as error:
        print(f"PyTurboJPEG unavailable: {error}")
    return found


def reduced_decoders(short_side: int) -> dict[str, Callable[[bytes], Any]]:
    import simplejpeg

    def simplejpeg_scaled(data: bytes) -> Any:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        scale = short_side / min(width, height)
        array = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=int(np.ceil(height * scale)),
                                       min_width=int(np.ceil(width * scale)))
        return Image.fromarray(array)

    return {"pillow_draft": lambda d: pil_draft(d, short_side), "simplejpeg_scaled_pil": simplejpeg_scaled}


def resized_short_side(image: Image.Image, short_side: int, like: Image.Image) -> np.ndarray:
    """Resize(short_side) of ``image`` to the size torchvision's Resize gives ``like`` (the full decode:
    a reduced decode's rounded size can move the long side by a pixel)."""
    width, height = like.size
    if width <= height:
        size = (short_side, int(short_side * height / width))
    else:
        size = (int(short_side * width / height), short_side)
    return np.asarray(image.resize(size, Image.BILINEAR), dtype=np.int16)


def time_set(name: str, files: list[bytes], passes: dict[str, Callable[[bytes], Any]], repeats: int) -> dict:
    def over_files(decode: Callable[[bytes], Any]) -> Callable[[], None]:
        return lambda: [decode(d) for d in files] and None

    times = alternating_median_times({k: over_files(v) for k, v in passes.items()}, repeats)
    result = {k: {"images_per_second": len(files) / t, "ms_per_image": 1e3 * t / len(files)} for k, (t, _) in
              times.items()}
    for key, value in result.items():
        print(f"{name:>16} {key:>22}: {value['images_per_second']:8.0f} img/s  {value['ms_per_image']:.3f} ms")
    return result


def pixel_agreement(files: list[bytes], passes: dict[str, Callable[[bytes], Any]]) -> dict:
    """Max and mean |difference| of each decode from Pillow's full decode (uint8 levels)."""
    out = {}
    for key, decode in passes.items():
        diffs = [np.abs(np.asarray(decode(d), dtype=np.int16) - np.asarray(pil_full(d), dtype=np.int16))
                 for d in files]
        out[key] = {"max_abs": int(max(d.max() for d in diffs)), "mean_abs": float(np.mean([d.mean() for d in diffs]))}
    return out


def resize_agreement(files: list[bytes], passes: dict[str, Callable[[bytes], Any]], short_side: int) -> dict:
    """How far Resize(short_side) of a reduced decode is from Resize(short_side) of the full decode."""
    out = {}
    for key, decode in passes.items():
        diffs = [np.abs(resized_short_side(decode(d), short_side, pil_full(d))
                        - resized_short_side(pil_full(d), short_side, pil_full(d))) for d in files]
        out[key] = {"max_abs": int(max(d.max() for d in diffs)), "mean_abs": float(np.mean([d.mean() for d in diffs])),
                    "decoded_size": list(decode(files[0]).size)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=48, help="ImageNet-like files (default 48)")
    parser.add_argument("--cifar", type=int, default=2000, help="CIFAR-10 test files (default 2000)")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    short_side = 256
    started = time.time()
    sets = {"imagenet_500x375": imagenet_like(args.images, 0, large=False),
            "large_1000x750": imagenet_like(max(8, args.images // 3), 1, large=True),
            "cifar_32x32": cifar_files(args.cifar)}
    full = decoders()
    results: dict[str, Any] = {"load_before": open("/proc/loadavg").read().split()[:3], "sets": {}}
    for name, files in sets.items():
        entry: dict[str, Any] = {"files": len(files), "mean_bytes": float(np.mean([len(f) for f in files]))}
        passes = dict(full)
        if name == "large_1000x750":
            passes.update(reduced_decoders(short_side))
            entry["resize256_vs_full_decode"] = resize_agreement(files, reduced_decoders(short_side), short_side)
        entry["decode"] = time_set(name, files, passes, args.repeats)
        entry["pixels_vs_pillow"] = pixel_agreement(files, {k: v for k, v in full.items() if k != "pillow"})
        results["sets"][name] = entry
    results["load_after"] = open("/proc/loadavg").read().split()[:3]
    results["seconds"] = time.time() - started
    results["machine"] = machine("cpu")
    print(write_result("jpeg_decode_cpu", results))


if __name__ == "__main__":
    main()
