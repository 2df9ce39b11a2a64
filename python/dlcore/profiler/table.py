"""torch.profiler's text table (``key_averages().table()``): the same columns, widths, time units and
footer, so a dlcore table reads like (and diffs against) a torch one.
"""
from __future__ import annotations

from typing import Sequence

COLUMN_WIDTH = 12
SPACING = 2


def format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def format_percent(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.2f}%" if whole > 0 else "0.00%"


def truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def build_table(events: Sequence, *, sort_by: str | None, row_limit: int, max_name_column_width: int,
                max_shapes_column_width: int, header: str | None) -> str:
    """The table of `events` (FunctionEvent or FunctionEventAvg)."""
    if not events:
        return ""
    rows = sorted(events, key=lambda e: getattr(e, sort_by), reverse=True) if sort_by else list(events)
    if row_limit is not None and row_limit > 0:
        rows = rows[:row_limit]
    with_device = getattr(events, "use_device", None) is not None
    with_shapes = any(e.input_shapes is not None and len(e.input_shapes) > 0 for e in events)
    self_cpu_total = sum(e.self_cpu_time_total for e in events)
    self_device_total = sum(e.self_device_time_total for e in events)

    name_width = min(max(len(e.key) for e in events) + 4, max_name_column_width)
    shapes_width = min(max(len(str(e.input_shapes)) for e in events) + 4, max_shapes_column_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    widths = [name_width] + [COLUMN_WIDTH] * 5
    if with_device:
        headers += ["Self CUDA", "Self CUDA %", "CUDA total", "CUDA time avg"]
        widths += [COLUMN_WIDTH] * 4
    headers.append("# of Calls")
    widths.append(COLUMN_WIDTH)
    if with_shapes:
        headers.append("Input Shapes")
        widths.append(shapes_width)

    def line(cells: list[str]) -> str:
        return "".join(f"{c:>{w}}" + " " * SPACING for c, w in zip(cells, widths))

    separator = "".join("-" * w + " " * SPACING for w in widths)
    out = [header] if header else []
    out += [separator, line(headers), separator]
    for e in rows:
        cells = [truncate(e.key, name_width - 3), format_percent(e.self_cpu_time_total, self_cpu_total),
                 format_time(e.self_cpu_time_total), format_percent(e.cpu_time_total, self_cpu_total),
                 format_time(e.cpu_time_total), format_time(e.cpu_time_total / max(e.count, 1))]
        if with_device:
            cells += [format_time(e.self_device_time_total),
                      format_percent(e.self_device_time_total, self_device_total),
                      format_time(e.device_time_total), format_time(e.device_time_total / max(e.count, 1))]
        cells.append(str(e.count))
        if with_shapes:
            cells.append(truncate(str(e.input_shapes), shapes_width))
        out.append(line(cells))
    out.append(separator)
    out.append(f"Self CPU time total: {format_time(self_cpu_total)}")
    if with_device:
        out.append(f"Self CUDA time total: {format_time(self_device_total)}")
    return "\n".join(out) + "\n"
