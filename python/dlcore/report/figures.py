"""The report's figures, drawn with matplotlib (headless) and returned as PNG bytes.

Each function takes the measured numbers only and labels every axis with its unit; the callers
decide which figures exist (a figure with no data is never drawn: the section says what is missing).
"""
from __future__ import annotations

import io
from typing import Any, Sequence

MIB = 1024 * 1024


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415  (imported when a figure is drawn, so the CLI can name the missing extra)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    _pyplot().close(fig)
    return buffer.getvalue()


def label_log_axis(ax: Any) -> None:
    """Plain numbers at 1, 2 and 5 times each power of ten on a log y axis (not just 10^3, 10^4)."""
    from matplotlib.ticker import FuncFormatter, LogLocator  # noqa: PLC0415

    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))


def training_curves(series: Sequence[tuple[str, list[dict[str, Any]]]]) -> bytes:
    """Per-epoch test accuracy, losses (train solid, test dashed), seconds and peak memory of each run."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (label, records) in enumerate(series):
        colour = colours[index % len(colours)]
        epochs = [r["epoch"] for r in records]
        axes[0, 0].plot(epochs, [r["test_accuracy"] for r in records], "o-", color=colour, label=label)
        if all("train_loss" in r for r in records):
            axes[0, 1].plot(epochs, [r["train_loss"] for r in records], "-", color=colour, label=f"{label} train")
        axes[0, 1].plot(epochs, [r["test_loss"] for r in records], "--", color=colour, label=f"{label} test")
        axes[1, 0].plot(epochs, [r["seconds"] for r in records], "o-", color=colour, label=label)
        if all("peak_memory_bytes" in r for r in records):
            axes[1, 1].plot(epochs, [r["peak_memory_bytes"] / MIB for r in records], "o-", color=colour, label=label)
    titles = [("test accuracy %", "test accuracy"), ("loss", "loss (train solid, test dashed)"),
              ("seconds per training epoch", "epoch time"), ("peak memory MiB", "peak memory (CPU: process RSS)")]
    for ax, (ylabel, title) in zip(axes.flat, titles):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0, 1].set_yscale("log")
    axes[1, 0].set_ylim(bottom=0)
    axes[1, 1].set_ylim(bottom=0)
    return _png(fig)


def per_class_bars(columns: Sequence[tuple[str, dict[str, float]]]) -> bytes:
    """Grouped bars: test accuracy of every class, one colour per run."""
    plt = _pyplot()
    classes = list(columns[0][1])
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(classes)), 4.5))
    width = 0.8 / len(columns)
    lowest = min(v for _, values in columns for v in values.values())
    for i, (label, values) in enumerate(columns):
        ax.bar([k + (i - (len(columns) - 1) / 2) * width for k in range(len(classes))],
               [values.get(c, 0.0) for c in classes], width, label=label)
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(max(0.0, lowest - 5.0), 100.0)  # the differences sit near the top
    ax.set_ylabel("test accuracy %")
    ax.set_title("per-class test accuracy (last epoch of each run)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _png(fig)


def bars_by_group(groups: dict[str, list[tuple[str, float, bool]]], ylabel: str, title: str) -> bytes:
    """One panel per group (model): a bar per (name, value); hatched bars are simulated placements."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.2), squeeze=False)
    for ax, (group, bars) in zip(axes[0], groups.items()):
        names = [b[0] for b in bars]
        drawn = ax.bar(names, [b[1] for b in bars], color=["#9bbbd9" if b[2] else "#3a75b0" for b in bars],
                       hatch=None)
        for rect, bar in zip(drawn, bars):
            if bar[2]:
                rect.set_hatch("//")
            ax.annotate(f"{bar[1]:,.0f}" if bar[1] >= 100 else f"{bar[1]:.3g}", (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                        textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
        ax.set_title(f"{group}" + (" (hatched: simulated)" if any(b[2] for b in bars) else ""))
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    return _png(fig)


def regulariser_curves(runs: Sequence[tuple[str, list[dict[str, Any]]]]) -> bytes:
    """Loss and accuracy per epoch of each configuration: train solid, test dashed."""
    plt = _pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, epochs) in enumerate(runs):
        colour = colours[index % len(colours)]
        x = [e["epoch"] for e in epochs]
        loss_ax.plot(x, [e["train_loss"] for e in epochs], "-", color=colour, label=f"{name} train")
        loss_ax.plot(x, [e["test_loss"] for e in epochs], "--", color=colour, label=f"{name} test")
        if all("train_accuracy" in e for e in epochs):
            acc_ax.plot(x, [e["train_accuracy"] for e in epochs], "-", color=colour, label=f"{name} train")
        acc_ax.plot(x, [e["test_accuracy"] for e in epochs], "--", color=colour, label=f"{name} test")
    for ax, ylabel in ((loss_ax, "loss"), (acc_ax, "accuracy %")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    loss_ax.set_title("loss: train solid, test dashed")
    acc_ax.set_title("accuracy: train solid, test dashed")
    return _png(fig)


def _bytes_text(size: int) -> str:
    for unit, scale in (("MiB", MIB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


def allreduce_bandwidth(backends: dict[str, list[dict[str, Any]]]) -> bytes:
    """All-reduce bus bandwidth and latency against message size, one line per backend."""
    plt = _pyplot()
    fig, (bw_ax, time_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, rows in backends.items():
        sizes = [r["bytes"] for r in rows]
        bw_ax.plot(sizes, [r["busbw_GBps"] for r in rows], "o-", label=name)
        time_ax.plot(sizes, [1e6 * r["seconds"] for r in rows], "o-", label=name)
    sizes = sorted({r["bytes"] for rows in backends.values() for r in rows})
    for ax, ylabel in ((bw_ax, "bus bandwidth GB/s"), (time_ax, "time per all-reduce us")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [_bytes_text(s) for s in sizes])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _png(fig)


def batch_size_sweep(lines: Sequence[tuple[str, list[tuple[int, float]]]],
                     accuracy: Sequence[tuple[str, list[tuple[int, float]]]], budget_text: str) -> bytes:
    """Images/s against batch size for each (framework, device), and beside it dlcore's accuracy after
    the budget when a sweep measured it."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if accuracy else 1, figsize=(12 if accuracy else 6.5, 4.5), squeeze=False)
    speed_ax = axes[0, 0]
    panels = [(speed_ax, lines, "{:,.0f}")] + ([(axes[0, 1], accuracy, "{:.1f}")] if accuracy else [])
    sizes = sorted({b for _, points in [*lines, *accuracy] for b, _ in points})
    for ax, series, value_format in panels:
        for label, points in series:
            ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=label)
            for b, v in points:
                ax.annotate(value_format.format(v), (b, v), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=8)
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.minorticks_off()
        ax.set_xlabel("batch size")
        ax.margins(y=0.15)  # room for the value labels above the highest points
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    speed_ax.set_yscale("log")
    label_log_axis(speed_ax)
    speed_ax.set_ylabel("training images / s (median step)")
    speed_ax.set_title("throughput")
    if accuracy:
        axes[0, 1].set_ylabel("test accuracy %")
        axes[0, 1].set_title(f"dlcore test accuracy after {budget_text}")
    return _png(fig)
