"""The report's background (task, data, models) and method (frameworks, hardware, hyperparameters)
sections, written from the sources' configs and recorded metadata and from this machine."""
from __future__ import annotations

from typing import Any

from .document import Block, Bullets, Heading, Paragraph, Table
from .formatting import mib, num
from .sources import Kind, Source, of_kind

MNIST, CIFAR = "MNIST", "CIFAR-10"
DATASET_TEXT = {MNIST: "MNIST: handwritten digits 0-9, 28x28 grayscale, 10 classes",
                CIFAR: "CIFAR-10: 32x32 colour photographs of 10 object classes"}
MODEL_TEXT = {MNIST: "LeNet-5: conv 6@5x5 (pad 2), ReLU, max-pool 2; conv 16@5x5, ReLU, max-pool 2; "
                     "linear 400-120-84-10 with ReLU",
              CIFAR: "CifarVGG: three blocks of two 3x3 convolutions (w, 2w, 4w channels; optional batch norm), "
                     "ReLU, 2x2 max-pool each; linear 16*4w-8w-10 (optional dropout)"}


def datasets_of(source: Source) -> set[str]:
    """The datasets a source trained on, from its config or its tool's models."""
    if source.kind is Kind.DLCORE_RUN:
        return {CIFAR if "width" in source.data else MNIST}
    if source.kind is Kind.SWEEP:
        return {source.data["config"]["dataset"]}
    if source.kind in (Kind.TORCH_LENET, Kind.TORCH_COMPARE, Kind.TORCH_PROFILE, Kind.TORCH_BACKENDS):
        return {MNIST}
    if source.kind is Kind.TORCH_CIFAR:
        return {CIFAR}
    models = {row.get("model") for row in source.data.get("summary", [])}  # parallel, amp
    return {name for model, name in (("lenet", MNIST), ("cifar", CIFAR)) if model in models}


def framework_of(source: Source) -> str:
    if source.kind in (Kind.DLCORE_RUN, Kind.SWEEP):
        return source.data.get("framework", "dlcore")
    if source.kind is Kind.TORCH_COMPARE:
        return f"dlcore and torch {source.data.get('hardware', {}).get('torch_version', '(version not recorded)')}"
    return source.data.get("framework", "torch (version not recorded)")


def training_images(source: Source) -> str:
    """How many images a source trained and tested on, as it recorded them."""
    if source.kind is Kind.DLCORE_RUN:
        first = source.records[0]
        seen = round(first["images_per_second"] * first["seconds"])  # the epoch's images, as measured
        return f"{seen:,} training images per epoch (limit {source.data.get('limit')})"
    if source.kind is Kind.SWEEP:
        row = source.data["rows"][0]
        return (f"{source.data['config']['budget']:,} training images per row from a set of "
                f"{row['full_train_images']:,}, {row['test_images']:,} test images")
    if "train_samples" in source.data:
        return f"{source.data['train_samples']:,} training / {source.data['test_samples']:,} test images"
    if source.kind is Kind.TORCH_COMPARE and "--limit" not in source.data.get("flags", []):
        return "the full training and test sets (no --limit)"
    return f"limit {source.data.get('limit')} training images" if "limit" in source.data else "not recorded"


def background(sources: list[Source]) -> list[Block]:
    present = sorted(set().union(*(datasets_of(s) for s in sources)))
    blocks: list[Block] = [Heading(2, "Background"),
                           Paragraph("The task is image classification, trained from scratch with a cross-entropy "
                                     "loss, with dlcore (C++/CUDA engine, PyTorch-like Python API) and PyTorch as "
                                     "the reference. The inputs of this report cover these datasets and models:")]
    blocks.append(Bullets([f"{DATASET_TEXT[d]}; model {MODEL_TEXT[d]}." for d in present]))
    blocks.append(Table(["source", "kind", "dataset", "data used"],
                        [[s.label, s.kind.value, ", ".join(sorted(datasets_of(s))), training_images(s)]
                         for s in sources]))
    params = {f"{d.get('tool')}": d["parameters"] for d in (s.data for s in sources) if "parameters" in d}
    for s in of_kind(sources, Kind.TORCH_CIFAR):
        params.update({f"cifar10/{r['name']}": r["parameters"] for r in s.data["runs"] if "parameters" in r})
    if params:
        blocks.append(Paragraph("Trainable parameters, as recorded: "
                                + "; ".join(f"{k} {v:,}" for k, v in params.items()) + "."))
    return blocks


def _hardware_row(name: str, h: dict[str, Any]) -> list[str]:
    gpus = h.get("gpus") or []
    gpu_text = ", ".join(g["name"] if isinstance(g, dict) else str(g) for g in gpus) or "none"
    load = h.get("load_average_1_5_15")
    return [name, str(h.get("cpu_model", "-")), num(h.get("cpu_count")), mib(h.get("memory_bytes")), gpu_text,
            str(h.get("torch_threads", "-")), "-" if not load else f"{load[0]:.1f}", str(h.get("date", "-"))]


HYPERPARAMETERS = ["epochs", "batch_size", "test_batch_size", "optimizer", "lr", "momentum", "weight_decay",
                   "schedule", "seed", "limit", "threads", "device"]


def _flag_config(flags: list[str]) -> dict[str, str]:
    """compare.json's command-line flags as a config: ``--batch-size 64`` -> batch_size: 64."""
    return {flags[i][2:].replace("-", "_"): flags[i + 1] for i in range(len(flags) - 1)
            if flags[i].startswith("--") and not flags[i + 1].startswith("--")}


def configs_of(source: Source) -> list[tuple[str, dict[str, Any]]]:
    """(row name, settings) for the hyperparameter table: one per training configuration in a source."""
    d = source.data
    if source.kind is Kind.DLCORE_RUN:
        return [(source.label, d)]
    if source.kind is Kind.SWEEP:
        return [(source.label, {**d["config"], "batch_size": ",".join(map(str, d["config"]["batch_sizes"])),
                                "device": ",".join(d["config"]["devices"])})]
    if source.kind is Kind.TORCH_LENET:
        return [(source.label, {**d["config"], "limit": d.get("limit"), "device": d.get("device"),
                                "threads": d.get("hardware", {}).get("torch_threads")})]
    if source.kind is Kind.TORCH_CIFAR:
        return [(f"{source.label}: {r['name']}", {**r["config"], "limit": d.get("limit")}) for r in d["runs"]]
    if source.kind is Kind.TORCH_COMPARE:
        return [(f"{source.label} (both sides)", _flag_config(d.get("flags", [])))]
    scalars = {k: v for k, v in d.items() if isinstance(v, (int, float, str)) and k not in ("tool", "framework")}
    return [(source.label, {**scalars, "batch_size": d.get("global_batch_size", "-")})]


def method(sources: list[Source], machine: dict[str, Any]) -> list[Block]:
    frameworks = sorted({framework_of(s) for s in sources})
    blocks: list[Block] = [Heading(2, "Method"), Heading(3, "Frameworks and versions"),
                           Paragraph(f"Recorded by the runs: {', '.join(frameworks)}. On the machine that wrote this "
                                     f"report: dlcore {machine['dlcore_version']}, torch {machine['torch_version']}, "
                                     f"numpy {machine['numpy_version']}, matplotlib {machine['matplotlib_version']}, "
                                     f"Python {machine['python']} on {machine['platform']}.")]
    rows = [_hardware_row("this machine (wrote the report)", machine)]
    unrecorded = []
    for s in sources:
        recorded = s.data.get("hardware") or s.data.get("machine")
        if recorded:
            rows.append(_hardware_row(s.label, recorded))
        elif s.kind is Kind.DLCORE_RUN:
            unrecorded.append(f"{s.label} (device {s.data.get('device')}, {s.data.get('threads')} threads)")
    blocks += [Heading(3, "Hardware"),
               Table(["where", "CPU", "cores", "memory MiB", "GPUs", "torch threads", "load (1 min)", "date"], rows)]
    if unrecorded:
        blocks.append(Paragraph("The dlcore run directories record no hardware, only their config: "
                                + "; ".join(unrecorded) + ". They were read on the machine above."))
    table_rows = [[name] + [f"{cfg[k]:g}" if isinstance(cfg.get(k), float) else str(cfg.get(k, "-"))
                            for k in HYPERPARAMETERS]
                  for s in sources for name, cfg in configs_of(s)]
    blocks += [Heading(3, "Hyperparameters (from each run's config)"), Table(["run"] + HYPERPARAMETERS, table_rows),
               Paragraph("Timing rules shared by dlcore and baseline_torch: `seconds` is the training pass of one "
                         "epoch only (the device synchronised at both ends, evaluation excluded); `images_per_second` "
                         "is the training images of that pass over those seconds; peak memory is the CUDA "
                         "allocator's peak on a GPU and the whole process's peak RSS on the CPU (interpreter and "
                         "dataset included).")]
    return blocks
