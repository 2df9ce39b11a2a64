"""torch.profiler.profile and record_function over dlcore's C++ recorder (dlcore._C.profiler).

A profile drives the recorder through its schedule: each ``step()`` asks the schedule for the next step's
action and starts, stops or hands over a trace (``on_trace_ready``) as torch does; without a schedule it
records from start to stop. Recording itself happens in C++ at the op layer (see
cpp/include/dlcore/profiler.h), so every op, backward node and optimizer step is seen, Python or not.
"""
from __future__ import annotations

import contextlib
import enum
import os
import time
from typing import Any, Callable, Iterable

from .. import _C
from .events import EventList, function_events
from .schedule import ProfilerAction, record_every_step
from .trace import write_chrome_trace


class ProfilerActivity(enum.Enum):
    """What to record: host activity (ops, backward nodes, ranges) and CUDA device time of ops."""

    CPU = 0
    CUDA = 1


def supported_activities() -> set[ProfilerActivity]:
    return {ProfilerActivity.CPU, ProfilerActivity.CUDA} if _C.cuda.is_available() else {ProfilerActivity.CPU}


class record_function(contextlib.ContextDecorator):
    """Marks a named range (a context manager, or a decorator of a function) that the profiler records
    around the ops run inside it."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name if args is None else f"{name}({args})"
        self._open: list[Any] = []  # one handle per active use (a decorated function may recurse)

    def __enter__(self) -> record_function:
        self._open.append(_C.profiler.begin_range(self.name))
        return self

    def __exit__(self, *exc: object) -> None:
        _C.profiler.end_range(self._open.pop())


class profile:
    """torch.profiler.profile: a context manager (or start/step/stop) recording what runs inside it.
    with_stack and profile_memory are accepted for torch's signature and record nothing more."""

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable[[profile], Any] | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False) -> None:
        self.activities = set(supported_activities() if activities is None else activities)
        unknown = [a for a in self.activities if not isinstance(a, ProfilerActivity)]
        if unknown:
            raise ValueError(f"profile: activities must be ProfilerActivity values, got {unknown}")
        self.schedule = schedule or record_every_step
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._recording = False
        self._step_range: record_function | None = None
        self._events = EventList()
        self._base_time_ns = 0

    # ---- the recorder ----
    def _start_trace(self) -> None:
        _C.profiler.start(self.record_shapes, ProfilerActivity.CUDA in self.activities)
        self._base_time_ns = time.time_ns()
        self._recording = True

    def _stop_trace(self) -> None:
        if not self._recording:
            return
        self._recording = False
        use_device = "cuda" if ProfilerActivity.CUDA in self.activities and _C.cuda.is_available() else None
        self._events = EventList(function_events(_C.profiler.stop()), use_device=use_device)

    def _trace_ready(self) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def _transit(self, previous: ProfilerAction, current: ProfilerAction | None) -> None:
        """torch's state machine: what moving from one step's action to the next (None: stop) does."""
        recording = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if previous in recording and (current not in recording or previous == ProfilerAction.RECORD_AND_SAVE):
            self._stop_trace()
            if previous == ProfilerAction.RECORD_AND_SAVE or current is None:
                self._trace_ready()
        if previous == ProfilerAction.WARMUP and current is None:  # stopped while warming up: an empty trace
            self._events = EventList()
        if current in recording and not self._recording:
            self._start_trace()

    def _open_step_range(self) -> None:
        if self.record_steps and self._recording:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _close_step_range(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    # ---- torch's API ----
    def start(self) -> None:
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self._transit(ProfilerAction.NONE, self.current_action)
        self._open_step_range()

    def stop(self) -> None:
        self._close_step_range()
        self._transit(self.current_action, None)
        self.current_action = ProfilerAction.NONE

    def step(self) -> None:
        """Signals that the next step starts: the schedule decides whether it is recorded."""
        self._close_step_range()
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(previous, self.current_action)
        self._open_step_range()

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def events(self) -> EventList:
        """The events of the last recorded trace, in the order they began."""
        return self._events

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        return self._events.key_averages(group_by_input_shape)

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        write_chrome_trace(path, self._events, self._base_time_ns)
