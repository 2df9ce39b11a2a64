"""The profiler's results as torch.profiler presents them: FunctionEvent (one recorded op, backward node,
optimizer step or record_function range), FunctionEventAvg (events grouped by name, and optionally input
shapes) and EventList (a list of either, with ``table()``). Times are microseconds, as in torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .. import _C
from .table import build_table

_USER_RANGE = _C.profiler.EventKind.UserRange


@dataclass
class Interval:
    """A host time range in microseconds since the profiling session started."""

    start: float
    end: float

    def elapsed_us(self) -> float:
        return self.end - self.start


@dataclass(eq=False)
class FunctionEvent:
    """One recorded event, with its children on the same thread (the ops it called)."""

    id: int
    name: str
    thread: int
    time_range: Interval
    input_shapes: list[list[int]]
    is_user_annotation: bool
    device_index: int  # -1: the event ran on the host only
    device_time_total: float
    cpu_parent: FunctionEvent | None = None
    cpu_children: list[FunctionEvent] = field(default_factory=list)
    count: int = 1

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(child.cpu_time_total for child in self.cpu_children)

    @property
    def self_device_time_total(self) -> float:
        # The device time spanned by this op's events, less what its child ops spanned.
        return max(0.0, self.device_time_total - sum(child.device_time_total for child in self.cpu_children))

    @property
    def cuda_time_total(self) -> float:  # torch's older name
        return self.device_time_total

    @property
    def self_cuda_time_total(self) -> float:
        return self.self_device_time_total


def function_events(raw: Iterable[_C.profiler.Event]) -> list[FunctionEvent]:
    """FunctionEvents from the recorder's events, parents linked to children."""
    raw = list(raw)
    events = [FunctionEvent(id=i, name=e.name, thread=e.thread, time_range=Interval(e.start_ns / 1e3, e.end_ns / 1e3),
                            input_shapes=[list(s) for s in e.input_shapes], is_user_annotation=e.kind == _USER_RANGE,
                            device_index=e.device, device_time_total=e.device_us)
              for i, e in enumerate(raw)]
    for event, e in zip(events, raw):
        if e.parent >= 0:
            event.cpu_parent = events[e.parent]
            events[e.parent].cpu_children.append(event)
    return events


@dataclass(eq=False)
class FunctionEventAvg:
    """The events that share a key (a name, and the input shapes when grouped by them), summed."""

    key: str
    input_shapes: list[list[int]] | None
    count: int = 0
    cpu_time_total: float = 0.0
    self_cpu_time_total: float = 0.0
    device_time_total: float = 0.0
    self_device_time_total: float = 0.0
    is_user_annotation: bool = False

    def add(self, event: FunctionEvent) -> FunctionEventAvg:
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        self.device_time_total += event.device_time_total
        self.self_device_time_total += event.self_device_time_total
        self.is_user_annotation = event.is_user_annotation
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    @property
    def device_time(self) -> float:
        return self.device_time_total / max(self.count, 1)

    @property
    def cuda_time_total(self) -> float:  # torch's older names
        return self.device_time_total

    @property
    def self_cuda_time_total(self) -> float:
        return self.self_device_time_total


class EventList(list):
    """A list of FunctionEvent or FunctionEventAvg, printable as torch's profiler table."""

    def __init__(self, events: Iterable = (), *, use_device: str | None = None) -> None:
        super().__init__(events)
        self.use_device = use_device

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        groups: dict[tuple, FunctionEventAvg] = {}
        for event in self:
            shapes = event.input_shapes if group_by_input_shape else None
            key = (event.key, str(shapes))
            if key not in groups:
                groups[key] = FunctionEventAvg(event.key, shapes)
            groups[key].add(event)
        return EventList(groups.values(), use_device=self.use_device)

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None) -> str:
        """torch's table: one row per entry, sorted (descending) by the attribute `sort_by`."""
        return build_table(self, sort_by=sort_by, row_limit=row_limit, max_name_column_width=max_name_column_width,
                           max_shapes_column_width=max_shapes_column_width, header=header)

    def __str__(self) -> str:
        return self.table()
