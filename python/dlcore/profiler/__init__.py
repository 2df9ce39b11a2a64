"""dlcore.profiler: torch.profiler's API over dlcore's op-level recorder.

``with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], record_shapes=True) as prof:``
records every op, backward node and optimizer step the C++ engine runs (host time, thread, input shapes;
CUDA device time from events), ``record_function("name")`` marks ranges, ``schedule(wait=, warmup=,
active=)`` picks the steps, ``prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)``
prints torch's table and ``prof.export_chrome_trace(path)`` writes a trace Perfetto opens.
"""
from .events import EventList, FunctionEvent, FunctionEventAvg
from .profiling import ProfilerActivity, profile, record_function, supported_activities
from .schedule import ProfilerAction, schedule
from .trace import tensorboard_trace_handler

__all__ = ["profile", "record_function", "schedule", "ProfilerAction", "ProfilerActivity", "supported_activities",
           "tensorboard_trace_handler", "EventList", "FunctionEvent", "FunctionEventAvg"]
