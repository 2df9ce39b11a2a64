"""How numbers and gaps read in the report: one place for precision, units and the wording of
"not measured", so every section says them the same way.
"""
from __future__ import annotations

from typing import Any

from .document import Paragraph

MIB = 1024 * 1024


def num(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals (thousands separated), '-' for None, other values as text."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def mib(value_bytes: float | None) -> str:
    return "-" if value_bytes is None else f"{value_bytes / MIB:,.0f}"


def missing(what: str, why: str) -> Paragraph:
    """The sentence a section shows in place of numbers nobody measured."""
    return Paragraph(f"**Missing: {what}.** {why}")
