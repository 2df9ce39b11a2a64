"""Writing what the tools measured: JSON for machines, tables for the terminal and Markdown, PNG
figures for people, and a description of the hardware so every number says where it came from.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import torch


def _pyplot() -> Any:
    """matplotlib's pyplot, imported on first use so that --help and the numbers work without it
    (cli.prepare checks it is there before a tool trains). Headless: never open a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def cpu_model_name() -> str:
    """The CPU model as lscpu reports it, falling back to /proc/cpuinfo and then platform."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in text.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware_info() -> dict[str, Any]:
    """Everything a reader needs to know to reproduce or discount a number."""
    gpus = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append({"index": index, "name": props.name,
                         "memory_bytes": props.total_memory})
    return {
        "cpu_model": cpu_model_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "gpus": gpus,
        "python": platform.python_version(),
        "platform": platform.platform(),
        # other work on the machine skews CPU timings; record how busy it was
        "load_average_1_5_15": list(os.getloadavg()),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def peak_memory_bytes(device: torch.device) -> int:
    """Peak memory of this run: CUDA allocator peak on a GPU, process peak RSS on the CPU.

    The CPU figure is the whole process's high-water mark (ru_maxrss), so it includes the dataset
    and the Python interpreter and never goes down between epochs.
    """
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def write_json(path: Path, payload: Any) -> Path:
    """Write JSON atomically (write then rename) so a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)
    return path


def append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON object per line, the format dlcore's train_mnist.py writes too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(record, default=str) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file, skipping blank lines."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        if abs(value) < 10:
            return f"{value:.4f}"
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return "-" if value is None else str(value)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A fixed-width text table for the terminal."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    line = "  ".join(col.rjust(w) for col, w in zip(columns, widths))
    out = [line, "-" * len(line)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The same table as GitHub Markdown, for READMEs."""
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(out)


def _save_figure(fig: Any, path: Path, title: str) -> Path:
    """Titles, lays out, writes and closes a figure (the same finish for every chart)."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_panels(path: Path, panels: Sequence[Mapping[str, Any]], title: str = "") -> Path:
    """Line plots side by side.

    Each panel is {"title", "xlabel", "ylabel", "series": {label: (xs, ys)}}; a label ending in
    "(test)" is drawn dashed so train/test pairs read at a glance.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    colors: dict[str, str] = {}  # a run keeps one colour across its train/test lines and panels
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, panel in zip(axes[0], panels):
        for label, (xs, ys) in panel["series"].items():
            run = label.replace("(test)", "").replace("(train)", "").strip()
            color = colors.setdefault(run, palette[len(colors) % len(palette)])
            style = "--" if label.endswith("(test)") else "-"
            ax.plot(list(xs), list(ys), style, color=color, marker="o", markersize=3, label=label)
        ax.set_title(panel.get("title", ""))
        ax.set_xlabel(panel.get("xlabel", "epoch"))
        ax.set_ylabel(panel.get("ylabel", ""))
        if panel.get("logx"):
            ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save_figure(fig, path, title)


def plot_bars(path: Path, labels: Sequence[str], metrics: Mapping[str, Iterable[float]],
              title: str = "") -> Path:
    """One bar chart per metric, the same labels on every chart."""
    labels = list(labels)
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(4, 1.1 * len(labels)) * len(metrics) / 1.5
                                                       + 2, 4), squeeze=False)
    for ax, (name, values) in zip(axes[0], metrics.items()):
        values = [float("nan") if v is None else float(v) for v in values]
        ax.bar(range(len(labels)), values, color="tab:blue")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(name)
        ax.grid(axis="y", alpha=0.3)
    return _save_figure(fig, path, title)
