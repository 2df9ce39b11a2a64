"""The report's command line: ``python -m dlcore.report RUN_DIR... -o OUT_DIR``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..cli import UsageFailure, run_script
from .build import build_report
from .sources import SourceError


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dlcore.report",
                                description="Write REPORT.md and a self-contained report.html from measured runs: "
                                            "dlcore run directories (config.json + metrics.jsonl), dlcore sweeps "
                                            "(sweep.json) and baseline_torch result directories, or folders of them.")
    p.add_argument("dirs", nargs="+", type=Path, help="run, sweep or result directories")
    p.add_argument("-o", "--out", type=Path, required=True, help="output directory")
    args = p.parse_args(argv)
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        sources = build_report(args.dirs, args.out, command="python -m dlcore.report " + " ".join(words))
    except SourceError as e:
        raise UsageFailure(str(e)) from None
    print(f"dlcore.report: read {len(sources)} sources; wrote {args.out / 'REPORT.md'} and {args.out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, prog="python -m dlcore.report"))
