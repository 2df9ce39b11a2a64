"""Reading the directories a report is built from, and telling their kinds apart by their contents.

A dlcore training run has config.json and metrics.jsonl (as dlcore.training writes them; other files
beside them, such as tensorboard/ or plots, are ignored, and profile_top10.txt is kept when present);
a sweep has sweep.json; each baseline_torch tool writes one JSON whose "tool" field names it. A
directory that is none of these but holds such directories (baseline_torch/results/cpu) is read one
level down.
"""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Kind(enum.Enum):
    DLCORE_RUN = "dlcore training run"
    SWEEP = "dlcore batch-size sweep"
    TORCH_LENET = "baseline_torch lenet_mnist"
    TORCH_CIFAR = "baseline_torch cifar10"
    TORCH_PARALLEL = "baseline_torch parallel"
    TORCH_AMP = "baseline_torch amp"
    TORCH_BACKENDS = "baseline_torch backends"
    TORCH_PROFILE = "baseline_torch profile"
    TORCH_COMPARE = "baseline_torch compare"


# baseline_torch's result file of each tool, and the "tool" field it carries
TORCH_TOOL_FILES = {"lenet_mnist.json": Kind.TORCH_LENET, "cifar10.json": Kind.TORCH_CIFAR,
                    "parallel.json": Kind.TORCH_PARALLEL, "amp.json": Kind.TORCH_AMP,
                    "backends.json": Kind.TORCH_BACKENDS, "profile.json": Kind.TORCH_PROFILE,
                    "compare.json": Kind.TORCH_COMPARE}


@dataclass
class Source:
    """One input directory: its kind, a short label, and what was read from it.

    ``data`` is the tool's JSON (baseline_torch, sweep) or the run's config.json (dlcore run);
    ``records`` are a dlcore run's per-epoch metrics; ``profile_table`` its profile_top10.txt.
    """

    kind: Kind
    path: Path
    label: str
    data: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    profile_table: str | None = None
    notes: list[str] = field(default_factory=list)


class SourceError(ValueError):
    """A directory the report cannot use; the message says which and why."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SourceError(f"{path}: not readable JSON ({e})") from None


def _read_metrics(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-epoch records, one per epoch: an epoch written twice (an older run appended to, or a
    resume after a crash) keeps its last record, and the report says so."""
    by_epoch: dict[int, dict[str, Any]] = {}
    notes = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise SourceError(f"{path}:{number}: not a JSON line ({e})") from None
        if not isinstance(record, dict) or "epoch" not in record:
            raise SourceError(f"{path}:{number}: a metrics record needs an 'epoch' key")
        if record["epoch"] in by_epoch:
            notes.append(f"epoch {record['epoch']} appears more than once in {path.name}; the last record is used")
        by_epoch[int(record["epoch"])] = record
    if not by_epoch:
        raise SourceError(f"{path}: no epochs recorded")
    return [by_epoch[e] for e in sorted(by_epoch)], notes


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def read_directory(path: Path) -> Source | None:
    """The source ``path`` is, or None when its contents match no kind."""
    if (path / "sweep.json").is_file():
        data = _read_json(path / "sweep.json")
        if isinstance(data, dict) and data.get("tool") == "sweep":
            return Source(Kind.SWEEP, path, _label(path), data)
    if (path / "config.json").is_file() and (path / "metrics.jsonl").is_file():
        records, notes = _read_metrics(path / "metrics.jsonl")
        profile = path / "profile_top10.txt"
        return Source(Kind.DLCORE_RUN, path, _label(path), _read_json(path / "config.json"), records,
                      profile.read_text() if profile.is_file() else None, notes)
    for name, kind in TORCH_TOOL_FILES.items():
        if (path / name).is_file():
            data = _read_json(path / name)
            if isinstance(data, dict) and data.get("tool") == name.removesuffix(".json"):
                return Source(kind, path, _label(path), data)
    return None


def read_sources(paths: list[Path]) -> list[Source]:
    """Every source under the given directories (each itself, or its subdirectories one level down)."""
    sources = []
    for path in paths:
        if not path.is_dir():
            raise SourceError(f"{path}: not a directory")
        source = read_directory(path)
        if source is not None:
            sources.append(source)
            continue
        found = [s for s in (read_directory(child) for child in sorted(path.iterdir()) if child.is_dir()) if s]
        if not found:
            raise SourceError(f"{path}: neither a dlcore run (config.json + metrics.jsonl), a sweep (sweep.json) "
                              f"nor a baseline_torch result ({', '.join(TORCH_TOOL_FILES)}), nor a folder of them")
        sources.extend(found)
    return sources


def of_kind(sources: list[Source], kind: Kind) -> list[Source]:
    return [s for s in sources if s.kind is kind]
