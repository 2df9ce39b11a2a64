"""What a trainer's run directory (--out) holds, and the metrics file's rules across crashes.

Layout (see the README's "Run outputs"): config.json, metrics.jsonl (one line per finished epoch),
checkpoint.safetensors, test_evaluation.json (the last epoch's per-class accuracy and confusion
matrix), utilisation.jsonl, TensorBoard event files (the directory is the TensorBoard log_dir) and
plots/*.png.

The trainers write each epoch's checkpoint first and its metrics line second, and the checkpoint
carries that line too. So a run killed between the two leaves a checkpoint one epoch ahead of
metrics.jsonl, and ``reconcile_metrics`` on resume appends the missing line from the checkpoint; a
line for an epoch past the checkpoint (an older file, a copied checkpoint) is dropped, as is a torn
last line. Either way each epoch appears exactly once.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
CHECKPOINT_NAME = "checkpoint.safetensors"
EVALUATION_NAME = "test_evaluation.json"
PLOTS_DIR = "plots"


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl (none when it does not exist); a torn line is skipped."""
    target = Path(path)
    if not target.exists():
        return []
    records = []
    for line in target.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # the half-written last line of a killed run
            continue
        if isinstance(record, dict) and "epoch" in record:
            records.append(record)
    return records


def write_metrics(path: str | os.PathLike, records: list[dict[str, Any]]) -> None:
    """Replaces metrics.jsonl with ``records`` atomically (temp file + rename)."""
    target = Path(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.write_text("".join(json.dumps(r) + "\n" for r in records))
    os.replace(temp, target)


def reconcile_metrics(path: str | os.PathLike, finished_epoch: int,
                      checkpoint_record: dict[str, Any] | None) -> dict[str, Any] | None:
    """Makes metrics.jsonl hold epochs 1..``finished_epoch`` once each before a resumed run goes on.

    Keeps the first line of every epoch up to ``finished_epoch``, drops the rest, and appends
    ``checkpoint_record`` (the line the checkpoint carries) when its epoch is missing. Returns the
    record it appended, or None. The file is rewritten only when something changed.
    """
    records = read_metrics(path)
    kept: dict[int, dict[str, Any]] = {}
    for record in records:
        epoch = int(record["epoch"])
        if epoch <= finished_epoch and epoch not in kept:
            kept[epoch] = record
    recovered = None
    if finished_epoch not in kept and checkpoint_record is not None and int(checkpoint_record.get("epoch", -1)) \
            == finished_epoch:
        recovered = kept[finished_epoch] = dict(checkpoint_record)
    ordered = [kept[epoch] for epoch in sorted(kept)]
    lines = Path(path).read_text().splitlines() if Path(path).exists() else []
    if ordered != records or len(lines) != len(records):  # changed, or held a torn line
        write_metrics(path, ordered)
    return recovered


__all__ = ["CONFIG_NAME", "METRICS_NAME", "CHECKPOINT_NAME", "EVALUATION_NAME", "PLOTS_DIR", "read_metrics",
           "write_metrics", "reconcile_metrics"]
