#!/usr/bin/env python3
"""Decoded + transformed ImageNet images per second per core: what dlcore's input pipeline sustains.

Files: ImageNet-like JPEGs (about 500x375, quality 90, bench/jpeg_decode.py's synthetic photographs)
written to a temporary ImageNet-layout tree. Timed:
1. one process, one thread: ImageFolder[i] over every file with torchvision's training preset
   (RandomResizedCrop 224, flip, ToTensor, Normalize) and evaluation preset (Resize 256, CenterCrop
   224, ToTensor, Normalize), decoded by default_loader (simplejpeg) and by pil_loader (Pillow);
2. dlcore.utils.data.DataLoader, batch 64, the training preset, 1 and 2 worker processes (batches
   back through shared memory), images/s in the main process over whole epochs.
Writes bench/results/imagenet_pipeline_cpu.json.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import machine, write_result
from jpeg_decode import synthetic_photo

import dlcore as dl
from dlcore.cli.imagenet_data import eval_preset, train_preset
from dlcore.data import ImageFolder, default_loader, pil_loader


def write_files(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    sizes = [(500, 375), (375, 500), (500, 333), (500, 400)]
    for index in range(count):
        folder = root / f"n{index % 4:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        synthetic_photo(rng, *sizes[index % len(sizes)]).save(folder / f"{index}.JPEG", quality=90)


def per_sample_rates(datasets: dict[str, ImageFolder], repeats: int) -> dict[str, float]:
    """Images/s of each dataset, alternated round by round; every pass is seeded alike, so the random
    crops (whose sizes set the resizing cost) are the same for every loader."""
    times: dict[str, list[float]] = {name: [] for name in datasets}
    names = list(datasets)
    for round_index in range(repeats + 1):
        for name in names if round_index % 2 == 0 else names[::-1]:
            dl.manual_seed(round_index)
            start = time.perf_counter()
            for index in range(len(datasets[name])):
                datasets[name][index]
            times[name].append(time.perf_counter() - start)
    return {name: len(datasets[name]) / statistics.median(t[1:]) for name, t in times.items()}


def loader_rate(dataset: ImageFolder, workers: int, repeats: int) -> float:
    loader = dl.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, num_workers=workers,
                                      persistent_workers=True)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for _batch in loader:
            pass
        times.append(time.perf_counter() - start)
    return len(dataset) / statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    dl.set_num_threads(1)
    results: dict[str, Any] = {"load_before": open("/proc/loadavg").read().split()[:3], "images": args.images,
                               "one_core_images_per_second": {}, "loader_images_per_second": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_files(root, args.images)
        presets = {"train": train_preset(224), "eval": eval_preset(256, 224)}
        for preset_name, preset in presets.items():
            rates = per_sample_rates({name: ImageFolder(str(root), transform=preset, loader=loader) for name, loader in
                                      (("default_loader", default_loader), ("pil_loader", pil_loader))}, args.repeats)
            for loader_name, rate in rates.items():
                results["one_core_images_per_second"][f"{preset_name}/{loader_name}"] = rate
                print(f"one core, {preset_name:5} preset, {loader_name:14}: {rate:6.0f} images/s")
        for workers in (1, 2):
            rate = loader_rate(ImageFolder(str(root), transform=presets["train"]), workers, args.repeats)
            results["loader_images_per_second"][f"train/{workers}_workers_batch64"] = rate
            print(f"DataLoader, train preset, {workers} worker(s), batch 64: {rate:6.0f} images/s")
    results["load_after"] = open("/proc/loadavg").read().split()[:3]
    results["machine"] = machine("cpu")
    print(write_result("imagenet_pipeline_cpu", results))


if __name__ == "__main__":
    main()
