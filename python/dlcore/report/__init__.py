"""``python -m dlcore.report RUN_DIR... -o OUT_DIR``: one report (REPORT.md and a self-contained
report.html) from dlcore run directories, dlcore sweeps and baseline_torch results.

The package reads the sources (sources.py), derives the numbers the text needs (analysis.py), builds
the sections (intro, results_training, results_systems, discussion), draws the figures (figures.py)
and renders both files from one list of blocks (document.py).
"""
from .build import build_report
from .sources import Kind, Source, SourceError, read_sources

__all__ = ["build_report", "read_sources", "Kind", "Source", "SourceError"]
