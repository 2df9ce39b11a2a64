"""Assembles the report: reads the sources, builds every section's blocks in order and writes
REPORT.md, figures/ and report.html."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from . import intro, results_systems, results_training
from .discussion import conclusion, discussion
from .document import Block, Heading, Paragraph, write_report
from .machine import machine_info
from .sources import Source, read_sources

TITLE = "dlcore and PyTorch: measured results"


def missing_items(blocks: Sequence[Block]) -> list[str]:
    """The "Missing: ..." statements of the results, for the conclusion's list."""
    return [b.text.split("**")[1].removeprefix("Missing: ").rstrip(".")
            for b in blocks if isinstance(b, Paragraph) and b.text.startswith("**Missing:")]


def report_blocks(sources: list[Source], machine: dict[str, Any], command: str) -> list[Block]:
    results: list[Block] = [Heading(2, "Results")]
    for section in (results_training.framework_comparison, results_training.per_class,
                    results_systems.parallel, results_training.mixed_precision, results_training.regularisers,
                    results_systems.backends, results_systems.batch_size_sweep, results_systems.cpu_vs_gpu,
                    results_systems.profiler):
        results += section(sources)
    notes = [note for s in sources for note in s.notes]
    discussed, topics = discussion(sources)
    head: list[Block] = [Heading(1, TITLE),
                         Paragraph(f"Written by `{command}` on {machine['date']} from {len(sources)} measured sources; "
                                   "every number below was read from them.")]
    if notes:
        head.append(Paragraph("Notes on the inputs: " + "; ".join(notes) + "."))
    return [*head, *intro.background(sources), *intro.method(sources, machine), *results, *discussed,
            *conclusion(topics, missing_items(results))]


def build_report(paths: Sequence[Path], out: Path, command: str = "python -m dlcore.report") -> list[Source]:
    """Reads ``paths``, writes OUT/REPORT.md, OUT/figures/*.png and OUT/report.html; returns the sources."""
    sources = read_sources(list(paths))
    out.mkdir(parents=True, exist_ok=True)
    write_report(report_blocks(sources, machine_info(), command), out, TITLE)
    return sources
