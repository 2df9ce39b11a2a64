"""The op table (cpp/op_table.py) as the compiled module carries it: the Python re-exports of
``dl``, ``dl.nn.functional``, ``dl.nn`` and the tests' op list are read from here, never listed by hand."""
from __future__ import annotations

import json
from typing import Any

from . import _C

OPS: list[dict[str, Any]] = json.loads(_C._op_table_json)


def names_on(surface: str) -> list[str]:
    """The names, aliases included (``clip`` for ``clamp``), of the ops that appear on one surface
    ("dl", "F", "method", "inplace")."""
    return [name for op in OPS if surface in op["surfaces"] for name in (op["name"], *op["aliases"])]


def module_ops() -> list[tuple[str, dict[str, Any]]]:
    """(module class name, op) for the ops with a ``module:Name`` surface."""
    return [(s.split(":", 1)[1], op) for op in OPS for s in op["surfaces"] if s.startswith("module:")]
