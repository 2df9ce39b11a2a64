"""Per-class results of a test evaluation (numpy only, so they need no plotting library): the
confusion matrix, each class's accuracy, and OUT/test_evaluation.json, which holds both for the
last finished epoch so a report can read them without re-running the model.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[true, predicted] over the test set."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return counts


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Accuracy (%) of each true class from a confusion matrix (0 for a class with no samples)."""
    totals = matrix.sum(axis=1)
    return 100.0 * np.diag(matrix) / np.maximum(totals, 1)


def write_evaluation(path: Path, epoch: int, class_names: Sequence[str], matrix: np.ndarray) -> None:
    """OUT/test_evaluation.json: the epoch, class names, per-class accuracy (%) and confusion matrix."""
    accuracy = per_class_accuracy(matrix)
    path.write_text(json.dumps({"epoch": epoch, "classes": list(class_names),
                                "per_class_accuracy": dict(zip(class_names, accuracy.tolist())),
                                "confusion_matrix": matrix.tolist()}, indent=1) + "\n")


__all__ = ["confusion_matrix", "per_class_accuracy", "write_evaluation"]
