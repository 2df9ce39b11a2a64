"""--profile N on the trainers: the first N training steps of the run (after one warm-up step, whose
one-time allocations would dominate the table) are recorded by dl.profiler; OUT/profile_top10.txt
gets torch's top-10 table by self CPU time and OUT/trace.json the Chrome trace (Perfetto opens it).
The profiled steps are ordinary training steps: the run's results are the same with or without it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .. import cuda
from ..profiler import ProfilerActivity, profile, schedule

TABLE_NAME = "profile_top10.txt"
TRACE_NAME = "trace.json"


class StepProfiler:
    """Profiles ``steps`` training steps after one warm-up step and writes the table and trace to ``out``."""

    def __init__(self, steps: int, out: Path, log: Callable[[str], None] = print) -> None:
        if steps < 1:
            raise ValueError(f"StepProfiler: steps must be >= 1, got {steps}")
        self.steps, self.out, self.log = steps, Path(out), log
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda.is_available() else [])
        self._profile = profile(activities=activities, record_shapes=True,
                                schedule=schedule(wait=0, warmup=1, active=steps, repeat=1),
                                on_trace_ready=self._write)
        self._written = self._stopped = False
        self._profile.start()

    def step(self) -> None:
        """Called after every training step; a no-op once the profiled steps are written."""
        if not self._written and not self._stopped:
            self._profile.step()

    def finish(self) -> None:
        """Stops the profiler; writes what it recorded if the run had fewer steps than asked for."""
        if not self._stopped:
            self._stopped = True
            self._profile.stop()

    def _write(self, prof: Any) -> None:
        self._written = True
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)
        (self.out / TABLE_NAME).write_text(table + "\n")
        prof.export_chrome_trace(str(self.out / TRACE_NAME))
        self.log(f"profiled {self.steps} training steps: {self.out / TABLE_NAME}, {self.out / TRACE_NAME}")


__all__ = ["StepProfiler", "TABLE_NAME", "TRACE_NAME"]
