"""The run's figures as PNGs (matplotlib, Agg backend): training curves with the machine's
utilisation beside them, per-class test accuracy, the confusion matrix and a grid of misclassified
test images. The trainers rewrite them after every epoch; each is written to a temporary file and
renamed, so a reader never sees half a PNG.

Figures are built on ``matplotlib.figure.Figure`` directly (not pyplot), so plotting neither picks
an interactive backend nor keeps figures alive between epochs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .evaluation import per_class_accuracy
from .utilisation import UtilisationSample

CURVES_NAME = "curves.png"
PER_CLASS_NAME = "per_class_accuracy.png"
CONFUSION_NAME = "confusion_matrix.png"
MISCLASSIFIED_NAME = "misclassified.png"
GIB = float(1 << 30)


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Writes ``figure`` as a PNG at ``path`` atomically (temp file + rename); returns the path."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    FigureCanvasAgg(figure)
    figure.savefig(temp, format="png", dpi=110)
    os.replace(temp, target)
    return target


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    pairs = [(r["epoch"], r[key]) for r in records if r.get(key) is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _epoch_panel(axis: Any, records: Sequence[dict[str, Any]], metric: str, ylabel: str) -> None:
    for split, style in (("train", "o-"), ("test", "s--")):
        epochs, values = _series(records, f"{split}_{metric}")
        if values:
            axis.plot(epochs, values, style, label=f"{split}  (last {values[-1]:.4g})")
    axis.set_title(f"{metric} per epoch")
    axis.set_xlabel("epoch")
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend()
    axis.xaxis.get_major_locator().set_params(integer=True)


def _utilisation_panels(percent_axis: Any, memory_axis: Any, samples: Sequence[UtilisationSample],
                        cpu_count: int, gpu_status: str) -> None:
    percent_axis.set_title("utilisation (%)")
    memory_axis.set_title("memory (GiB)")
    for axis in (percent_axis, memory_axis):
        axis.set_xlabel("minutes since the first sample")
        axis.grid(alpha=0.3)
    if not samples:
        for axis in (percent_axis, memory_axis):
            axis.text(0.5, 0.5, "no samples", ha="center", va="center", transform=axis.transAxes)
        return
    minutes = (np.array([s.time for s in samples]) - samples[0].time) / 60.0

    def plot(axis: Any, values: list, label: str, scale: float = 1.0) -> None:
        points = [(m, v / scale) for m, v in zip(minutes, values) if v is not None]
        if points:
            axis.plot(*zip(*points), label=label, linewidth=1)

    plot(percent_axis, [s.cpu_percent for s in samples], "CPU, all cores")
    plot(percent_axis, [s.process_cpu_percent for s in samples], f"this process (of {cpu_count} cores)",
         scale=max(1, cpu_count))
    plot(percent_axis, [s.gpu_percent for s in samples], "GPU")
    plot(memory_axis, [s.rss_bytes for s in samples], "process RSS", scale=GIB)
    plot(memory_axis, [s.gpu_memory_bytes for s in samples], "GPU memory used", scale=GIB)
    # Head room above the lines, where the legends go (a line at 100% would run under them).
    percent_axis.set_ylim(0, 130)
    memory_axis.set_ylim(0, memory_axis.get_ylim()[1] * 1.3)
    powers = [s.gpu_power_watts for s in samples if s.gpu_power_watts is not None]
    if powers:
        memory_axis.set_title(f"memory (GiB); GPU power mean {np.mean(powers):.0f} W, max {max(powers):.0f} W")
    if all(s.gpu_percent is None for s in samples):
        percent_axis.text(0.02, 0.04, f"GPU: {gpu_status}", transform=percent_axis.transAxes, fontsize=8)
    for axis in (percent_axis, memory_axis):
        axis.legend(loc="upper center", ncol=3, fontsize=8)


def plot_curves(records: Sequence[dict[str, Any]], samples: Sequence[UtilisationSample], path: str | os.PathLike,
                *, title: str, cpu_count: int, gpu_status: str) -> Path:
    """Loss and accuracy per epoch (train and test) above CPU/GPU utilisation and memory over time."""
    figure = Figure(figsize=(12, 8.5), layout="constrained")
    (loss, accuracy), (percent, memory) = figure.subplots(2, 2)
    _epoch_panel(loss, records, "loss", "cross-entropy")
    _epoch_panel(accuracy, records, "accuracy", "%")
    _utilisation_panels(percent, memory, samples, cpu_count, gpu_status)
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_per_class_accuracy(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike,
                            *, title: str) -> Path:
    """One bar per class with its accuracy written on it, and the overall accuracy as a dashed line."""
    accuracy = per_class_accuracy(matrix)
    overall = 100.0 * np.trace(matrix) / max(1, matrix.sum())
    figure = Figure(figsize=(max(7, 0.8 * len(class_names)), 4.8), layout="constrained")
    axis = figure.subplots()
    bars = axis.bar(range(len(class_names)), accuracy, color="tab:blue")
    axis.bar_label(bars, labels=[f"{a:.1f}" for a in accuracy], fontsize=8, padding=2)
    axis.axhline(overall, color="tab:red", linestyle="--")
    axis.set_xticks(range(len(class_names)), class_names, rotation=30, ha="right")
    axis.set_ylim(0, 108)
    axis.set_ylabel("test accuracy (%)")
    # The overall accuracy goes in the title: a legend box would hide the labels of low bars.
    axis.set_title(f"{title}\noverall {overall:.2f}% (dashed line)")
    return save_figure(figure, path)


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike,
                          *, title: str) -> Path:
    """Counts (true class per row, prediction per column), coloured by each row's share."""
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(6.0, 0.7 * len(class_names) + 2)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    axis = figure.subplots()
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        if count:
            axis.text(column, row, str(count), ha="center", va="center", fontsize=8,
                      color="white" if shares[row, column] > 0.5 else "black")
    ticks = range(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right")
    axis.set_yticks(ticks, class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="share of the true class", shrink=0.8)
    return save_figure(figure, path)


def _mosaic(pictures: np.ndarray, columns: int, gap: int) -> np.ndarray:
    """Tiles HxW or HxWxC uint8 pictures row by row into one image, ``gap`` white pixels apart."""
    if pictures.ndim == 3:
        pictures = np.repeat(pictures[..., None], 3, axis=3)
    count, height, width, channels = pictures.shape
    rows = -(-count // columns)
    canvas = np.full((rows * (height + gap), columns * (width + gap), channels), 255, np.uint8)
    for index, picture in enumerate(pictures):
        row, column = divmod(index, columns)
        canvas[row * (height + gap):row * (height + gap) + height,
               column * (width + gap):column * (width + gap) + width] = picture
    return canvas


def plot_misclassified(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                       class_names: Sequence[str], path: str | os.PathLike, *, title: str,
                       max_images: int = 25) -> Path:
    """The first ``max_images`` misclassified test images (uint8, HxW or HxWxC) with true and predicted labels.

    One mosaic in one axes, labelled with text: 25 separate axes would take most of a second to lay out."""
    wrong = np.flatnonzero(labels != predictions)[:max_images]
    columns = 5
    rows = max(1, -(-len(wrong) // columns))
    figure = Figure(figsize=(2.3 * columns, 2.4 * rows + 0.5), layout="constrained")
    axis = figure.subplots()
    axis.axis("off")
    figure.suptitle(f"{title}: {int((labels != predictions).sum())} of {len(labels)} test images misclassified")
    if len(wrong) == 0:
        axis.text(0.5, 0.5, "no misclassified test images", ha="center", va="center", transform=axis.transAxes)
        return save_figure(figure, path)
    height, width = images.shape[1:3]
    gap = max(2, height // 2)  # room for the labels above each picture
    axis.imshow(_mosaic(images[wrong], columns, gap), interpolation="nearest")
    for slot, index in enumerate(wrong):
        row, column = divmod(slot, columns)
        axis.text(column * (width + gap) + width / 2, row * (height + gap) - 0.5,
                  f"#{index} true: {class_names[labels[index]]}\npred: {class_names[predictions[index]]}",
                  ha="center", va="bottom", fontsize=8)
    axis.set_ylim(rows * (height + gap), -gap)  # the top row's labels need the space above it
    return save_figure(figure, path)


__all__ = ["CURVES_NAME", "PER_CLASS_NAME", "CONFUSION_NAME", "MISCLASSIFIED_NAME", "save_figure", "plot_curves",
           "plot_per_class_accuracy", "plot_confusion_matrix",
           "plot_misclassified"]
