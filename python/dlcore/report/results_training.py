"""Results about training itself: dlcore against PyTorch (curves, epoch times, memory), per-class
accuracy, regularisers and over-fitting, and mixed precision."""
from __future__ import annotations

from typing import Any

from . import figures
from .analysis import describe_over_fitting, summarise
from .document import Block, Bullets, Figure, Heading, Paragraph, Table
from .formatting import missing, num
from .intro import CIFAR, MNIST, datasets_of
from .sources import Kind, Source, of_kind

Series = tuple[str, str, str, list[dict[str, Any]]]  # (label, framework, device, per-epoch records)


def training_series(sources: list[Source], dataset: str) -> list[Series]:
    """Every per-epoch record list on ``dataset``: dlcore runs, baseline_torch runs, both compare sides."""
    series: list[Series] = []
    for s in sources:
        if dataset not in datasets_of(s):
            continue
        if s.kind is Kind.DLCORE_RUN:
            series.append((f"dlcore {s.label}", "dlcore", str(s.data.get("device")), s.records))
        elif s.kind is Kind.TORCH_LENET:
            series.append((f"torch {s.label}", "torch", s.data["device"], s.data["epochs"]))
        elif s.kind is Kind.TORCH_COMPARE:
            for side in ("dlcore", "torch"):
                if s.data["sides"].get(side, {}).get("status") == "ok":
                    series.append((f"{side} ({s.label}, same session)", side, s.data["device"],
                                   s.data["sides"][side]["epochs"]))
        elif s.kind is Kind.TORCH_CIFAR:
            series += [(f"torch {s.label}: {r['name']}", "torch", s.data["device"], r["epochs"]) for r in s.data["runs"]]
    return series


def framework_comparison(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "dlcore against PyTorch: curves, epoch times, memory")]
    for dataset in (MNIST, CIFAR):
        series = training_series(sources, dataset)
        if not series:
            continue
        rows = []
        for label, framework, device, records in series:
            s = summarise(records)
            rows.append([label, framework, device, str(s.epochs), num(s.median_seconds, 3),
                         num(s.fastest_seconds, 3), num(s.median_images_per_second, 0), num(s.final_test_accuracy),
                         f"{num(s.best_test_accuracy)} (epoch {s.best_epoch})", num(s.peak_memory_mib, 0)])
        blocks += [Heading(4, dataset),
                   Table(["run", "framework", "device", "epochs", "median s/epoch", "fastest s/epoch",
                          "median img/s", "final test acc %", "best test acc %", "peak memory MiB"], rows),
                   Figure(f"curves_{dataset.lower().replace('-', '')}.png", figures.training_curves(
                       [(label, records) for label, _, _, records in series]),
                          f"{dataset}: test accuracy, losses, seconds per epoch and peak memory of every run")]
        for framework in ("dlcore", "torch"):
            if not any(f == framework for _, f, _, _ in series):
                blocks.append(missing(f"{framework} on {dataset}", f"No {framework} run on {dataset} was given."))
    if len(blocks) == 1:
        blocks.append(missing("training runs", "No run with per-epoch records was given."))
    return blocks


def per_class_columns(sources: list[Source], dataset: str) -> list[tuple[str, dict[str, float]]]:
    """(label, class -> accuracy %) of every source that recorded per-class accuracy on ``dataset``."""
    columns = [(label, records[-1]["per_class_accuracy"]) for label, _, _, records in training_series(sources, dataset)
               if "per_class_accuracy" in records[-1]]
    for s in of_kind(sources, Kind.SWEEP):
        if dataset in datasets_of(s):
            for device in dict.fromkeys(r["device"] for r in s.data["rows"]):
                row = max((r for r in s.data["rows"] if r["device"] == device), key=lambda r: r["batch_size"])
                columns.append((f"dlcore sweep {device} batch {row['batch_size']} ({row['images']:,} images)",
                                row["per_class_accuracy"]))
    return columns


def per_class(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Per-class accuracy")]
    for dataset in (MNIST, CIFAR):
        columns = per_class_columns(sources, dataset)
        if not columns:
            continue
        classes = list(columns[0][1])
        blocks += [Heading(4, dataset),
                   Table(["class"] + [label for label, _ in columns],
                         [[c] + [num(values.get(c)) for _, values in columns] for c in classes]),
                   Figure(f"per_class_{dataset.lower().replace('-', '')}.png", figures.per_class_bars(columns),
                          f"{dataset}: per-class test accuracy of each run that recorded it")]
        if not any(label.startswith("dlcore") for label, _ in columns):
            blocks.append(missing(f"dlcore per-class accuracy on {dataset}",
                                  "The dlcore runs given record no per-class accuracy."))
    if len(blocks) == 1:
        blocks.append(missing("per-class accuracy", "No source given recorded per-class accuracy."))
    return blocks


def regularisers(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Regularisers and over-fitting")]
    for s in of_kind(sources, Kind.TORCH_CIFAR):
        rows = []
        for r in s.data["runs"]:
            on = [k if v is True else f"{k} {v}" for k, v in r["settings"].items() if v not in (False, 0, 0.0, "none")]
            last = r["epochs"][-1]
            best = max(r["epochs"], key=lambda e: e["test_accuracy"])
            rows.append([r["name"], ", ".join(on) or "none", num(last.get("train_accuracy")), num(last["test_accuracy"]),
                         num(last.get("train_accuracy", float("nan")) - last["test_accuracy"]),
                         f"{num(best['test_accuracy'])} (epoch {best['epoch']})",
                         num(min(e["test_loss"] for e in r["epochs"]), 3), num(last["test_loss"], 3)])
        blocks += [Paragraph(f"{s.label} ({s.data.get('model', 'CIFAR-10 CNN')}, {s.data.get('train_samples', '?')} "
                             f"training images, {len(s.data['runs'][0]['epochs'])} epochs, {s.data.get('framework')}):"),
                   Table(["config", "regularisers on", "final train acc %", "final test acc %", "gap (points)",
                          "best test acc %", "lowest test loss", "final test loss"], rows),
                   Figure("regularisers.png", figures.regulariser_curves([(r["name"], r["epochs"]) for r in s.data["runs"]]),
                          "CIFAR-10 regulariser configurations: train (solid) and test (dashed) loss and accuracy")]
    if not of_kind(sources, Kind.TORCH_CIFAR):
        blocks.append(missing("the regulariser comparison", "No baseline_torch cifar10 result was given."))
    lines = [describe_over_fitting(label, records)
             for dataset in (MNIST, CIFAR) for label, _, _, records in training_series(sources, dataset)]
    if lines:
        blocks += [Paragraph("Where over-fitting begins, run by run (the first epoch after the test-loss minimum, "
                             "when the test loss then rises while the train loss keeps falling):"), Bullets(lines)]
    return blocks


def mixed_precision(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Mixed precision")]
    amp = of_kind(sources, Kind.TORCH_AMP)
    if not amp:
        return blocks + [missing("mixed precision", "No baseline_torch amp result was given.")]
    for s in amp:
        rows, groups = [], {}
        for r in s.data["summary"]:
            if r["status"] == "ok":
                rows.append([r["model"], r["precision"], "ok", num(r["seconds_per_epoch"], 3),
                             num(r["images_per_second"], 0), num(r["peak_memory_MiB"], 0), num(r["final_test_accuracy"])])
                groups.setdefault(r["model"], []).append((r["precision"], r["images_per_second"], False))
            else:
                rows.append([r["model"], r["precision"], f"not measured: {r.get('note', r['status'])}"] + ["-"] * 4)
        blocks += [Paragraph(f"{s.label}: {s.data.get('framework')} on {s.data.get('device')}, "
                             f"{s.data.get('limit')} training images, one epoch per precision."),
                   Table(["model", "precision", "status", "s/epoch", "img/s", "peak memory MiB", "test acc %"], rows),
                   Figure("mixed_precision.png", figures.bars_by_group(groups, "training images / s",
                                                                       "training throughput by precision"),
                          "Mixed precision: training throughput per model and precision")]
    if not any("precision" in s.data for s in of_kind(sources, Kind.DLCORE_RUN)):
        blocks.append(missing("dlcore mixed precision", "No dlcore run given records a precision setting: "
                              "every dlcore number here is float32 training."))
    return blocks
