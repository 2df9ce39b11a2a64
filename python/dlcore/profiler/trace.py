"""Chrome trace JSON (the format chrome://tracing and Perfetto open) from recorded events: one complete
("ph": "X") event per op, backward node, optimizer step and record_function range, with ts/dur in
microseconds on its process and OS thread, and the input shapes and device time in its args.
"""
from __future__ import annotations

import gzip
import json
import os
import socket
import time
from typing import Any, Callable, Sequence

from .events import FunctionEvent


def category(event: FunctionEvent) -> str:
    return "user_annotation" if event.is_user_annotation else "cpu_op"


def trace_json(events: Sequence[FunctionEvent], base_time_ns: int) -> dict[str, Any]:
    pid = os.getpid()
    trace: list[dict[str, Any]] = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                                    "args": {"name": "dlcore"}}]
    for event in sorted(events, key=lambda e: (e.time_range.start, -e.time_range.end)):
        args: dict[str, Any] = {"External id": event.id}
        if event.input_shapes:
            args["Input Dims"] = event.input_shapes
        if event.device_index >= 0:
            args["device"] = event.device_index
            args["device_duration_us"] = round(event.device_time_total, 3)
        trace.append({"ph": "X", "cat": category(event), "name": event.name, "pid": pid, "tid": event.thread,
                      "ts": round(event.time_range.start, 3), "dur": round(event.cpu_time_total, 3), "args": args})
    return {"schemaVersion": 1, "displayTimeUnit": "ms", "baseTimeNanoseconds": base_time_ns, "traceEvents": trace}


def write_chrome_trace(path: str | os.PathLike, events: Sequence[FunctionEvent], base_time_ns: int) -> None:
    data = json.dumps(trace_json(events, base_time_ns))
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as f:
            f.write(data)
    else:
        with open(path, "w") as f:
            f.write(data)


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False) -> Callable[[Any], None]:
    """An on_trace_ready callback writing each trace to dir_name as TensorBoard's profiler plugin names
    them: ``{worker}.{time_ms}.pt.trace.json[.gz]``."""
    def handler(prof: Any) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler
