"""Numbers derived from the runs, which the tables and the discussion share: medians, peaks, where
over-fitting begins, and speed ratios. Each returns None when its inputs do not hold what it needs,
so a section states "not measured" instead of printing a made-up value.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Sequence

MIB = 1024 * 1024


@dataclass
class RunSummary:
    """The headline numbers of one run's per-epoch records."""

    epochs: int
    median_seconds: float
    fastest_seconds: float
    median_images_per_second: float
    final_test_accuracy: float
    best_test_accuracy: float
    best_epoch: int
    peak_memory_mib: float | None


def summarise(records: Sequence[dict[str, Any]]) -> RunSummary:
    best = max(records, key=lambda r: r["test_accuracy"])
    memory = [r["peak_memory_bytes"] for r in records if "peak_memory_bytes" in r]
    return RunSummary(len(records), statistics.median(r["seconds"] for r in records),
                      min(r["seconds"] for r in records),
                      statistics.median(r["images_per_second"] for r in records),
                      records[-1]["test_accuracy"], best["test_accuracy"], best["epoch"],
                      max(memory) / MIB if memory else None)


@dataclass
class OverFitting:
    """The test loss is lowest at ``best_epoch`` and higher afterwards while the train loss keeps falling."""

    best_epoch: int
    best_test_loss: float
    last_epoch: int
    last_test_loss: float
    train_loss_at_best: float
    last_train_loss: float

    @property
    def onset_epoch(self) -> int:
        return self.best_epoch + 1


def over_fitting(records: Sequence[dict[str, Any]]) -> OverFitting | None:
    """Where over-fitting begins: the first epoch after the test-loss minimum, when the test loss at
    the end is above that minimum and the train loss fell meanwhile; None when it never happens (or
    the records lack the losses or have fewer than 3 epochs)."""
    if len(records) < 3 or not all("train_loss" in r and "test_loss" in r for r in records):
        return None
    best = min(range(len(records)), key=lambda i: records[i]["test_loss"])
    last = records[-1]
    if best == len(records) - 1 or last["train_loss"] >= records[best]["train_loss"]:
        return None
    return OverFitting(records[best]["epoch"], records[best]["test_loss"], last["epoch"], last["test_loss"],
                       records[best]["train_loss"], last["train_loss"])


def describe_over_fitting(name: str, records: Sequence[dict[str, Any]]) -> str:
    """One computed sentence on whether and where ``name`` over-fits."""
    if len(records) < 3 or not all("train_loss" in r and "test_loss" in r for r in records):
        return f"{name}: {len(records)} epoch(s) with train and test loss, too few to tell where over-fitting begins."
    found = over_fitting(records)
    if found is None:
        lowest = min(records, key=lambda r: r["test_loss"])
        return (f"{name}: no over-fitting within {records[-1]['epoch']} epochs (test loss lowest, "
                f"{lowest['test_loss']:.4f}, at epoch {lowest['epoch']}, and not rising while the train loss falls).")
    return (f"{name}: over-fitting begins at epoch {found.onset_epoch}: the test loss is lowest at epoch "
            f"{found.best_epoch} ({found.best_test_loss:.4f}) and reaches {found.last_test_loss:.4f} "
            f"({100 * (found.last_test_loss / found.best_test_loss - 1):+.1f}%) by epoch "
            f"{found.last_epoch}, while the train loss falls from {found.train_loss_at_best:.4f} to "
            f"{found.last_train_loss:.4f}.")


def faster_phrase(a_name: str, a_seconds: float, b_name: str, b_seconds: float) -> str:
    """'A is 2.13x faster than B (0.47 s vs 1.00 s)', whichever way the numbers go."""
    if a_seconds <= b_seconds:
        return f"{a_name} is {b_seconds / a_seconds:.2f}x faster than {b_name} ({a_seconds:.3f} s vs {b_seconds:.3f} s)"
    return f"{b_name} is {a_seconds / b_seconds:.2f}x faster than {a_name} ({b_seconds:.3f} s vs {a_seconds:.3f} s)"
