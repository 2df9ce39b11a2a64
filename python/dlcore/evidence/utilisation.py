"""A background sampler of machine utilisation during a run: what "nvidia-smi screenshots" stand for.

Every ``interval`` seconds (0.5 by default) a daemon thread records the machine's CPU utilisation
(from /proc/stat), this process's CPU use (its own user+system time over wall time, in % of one
core, as top shows it), its resident set size, and, when the run uses a GPU and NVML is there
(the nvidia-ml-py package), the GPU's utilisation, memory in use and power draw. Without NVML the
GPU is recorded as unavailable, with the reason, and sampling goes on. The thread only reads
counters: it never touches dlcore tensors or the device, so it cannot stall the training loop.

Samples are kept in memory until ``drain()``; ``append_jsonl`` writes them as JSON lines after one
header line per session (when it began, the CPU count, the GPU's name or why there is none), and
``read_utilisation`` reads such a file back for plots and reports.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

UTILISATION_NAME = "utilisation.jsonl"


@dataclass
class UtilisationSample:
    """One reading; a None field was not measurable here (no /proc, no GPU, no NVML)."""

    time: float  # Unix time of the reading
    step: int  # the training step reached when it was taken
    cpu_percent: float | None  # all cores busy, 0-100
    process_cpu_percent: float | None  # this process, % of one core (may exceed 100)
    rss_bytes: int | None
    gpu_percent: float | None = None
    gpu_memory_bytes: int | None = None
    gpu_power_watts: float | None = None


def read_cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores from /proc/stat, or None where there is no /proc."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def read_rss_bytes() -> int | None:
    """This process's resident set size from /proc/self/statm, or None where there is no /proc."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _nvml_device_index() -> int:
    # NVML numbers all GPUs; CUDA numbers only the visible ones, so the run's device 0 is the
    # first one CUDA_VISIBLE_DEVICES names (when it names them by number).
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0].strip()
    return int(first) if first.isdigit() else 0


class GpuReader:
    """NVML readings of one GPU; ``status`` is its name, or why it cannot be read (never an error)."""

    def __init__(self, use_gpu: bool) -> None:
        self.nvml: Any = None
        self.handle: Any = None
        if not use_gpu:
            self.status = "unavailable: the run does not use a GPU"
            return
        try:
            import pynvml  # nvidia-ml-py
        except ImportError:
            self.status = "unavailable: nvidia-ml-py (pynvml) is not installed"
            return
        try:
            pynvml.nvmlInit()
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(_nvml_device_index())
            name = pynvml.nvmlDeviceGetName(self.handle)
        except pynvml.NVMLError as error:
            self.status = f"unavailable: NVML failed ({error})"
            return
        self.nvml = pynvml
        self.status = name.decode() if isinstance(name, bytes) else str(name)

    def read(self) -> tuple[float | None, int | None, float | None]:
        """(utilisation %, memory used in bytes, power in W); Nones where unavailable."""
        if self.nvml is None:
            return None, None, None
        try:
            utilisation = float(self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu)
            memory = int(self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used)
        except self.nvml.NVMLError:
            return None, None, None
        try:
            power = self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0  # NVML reports milliwatts
        except self.nvml.NVMLError:  # some boards do not report power
            power = None
        return utilisation, memory, power

    def close(self) -> None:
        if self.nvml is not None:
            self.nvml.nvmlShutdown()
            self.nvml = None


class UtilisationSampler:
    """Samples in a daemon thread between ``start()`` and ``stop()`` (also a context manager).

    ``current_step`` tells each sample which training step the run had reached. ``use_gpu`` asks
    for the NVML readings (a CPU run has none to take).
    """

    def __init__(self, current_step: Callable[[], int], use_gpu: bool, interval: float = 0.5) -> None:
        if not interval > 0:
            raise ValueError(f"UtilisationSampler: interval must be > 0 seconds, got {interval}")
        self.current_step, self.use_gpu, self.interval = current_step, use_gpu, interval
        self.samples: list[UtilisationSample] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.gpu: GpuReader | None = None
        self.started_at = 0.0

    @property
    def gpu_status(self) -> str:
        return self.gpu.status if self.gpu is not None else "not started"

    def start(self) -> "UtilisationSampler":
        if self.thread is not None:
            raise RuntimeError("UtilisationSampler: already started")
        self.gpu = GpuReader(self.use_gpu)
        self.started_at = time.time()
        self.stopping.clear()
        self.thread = threading.Thread(target=self._run, name="dlcore-utilisation", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        previous_cpu, previous_process, previous_wall = read_cpu_times(), _process_seconds(), time.perf_counter()
        while not self.stopping.wait(self.interval):
            cpu, process, wall = read_cpu_times(), _process_seconds(), time.perf_counter()
            cpu_percent = None
            if cpu is not None and previous_cpu is not None and cpu[1] > previous_cpu[1]:
                cpu_percent = 100.0 * (cpu[0] - previous_cpu[0]) / (cpu[1] - previous_cpu[1])
            process_percent = 100.0 * (process - previous_process) / (wall - previous_wall)
            sample = UtilisationSample(time.time(), self.current_step(), cpu_percent, process_percent,
                                       read_rss_bytes(), *self.gpu.read())
            with self.lock:
                self.samples.append(sample)
            previous_cpu, previous_process, previous_wall = cpu, process, wall

    def drain(self) -> list[UtilisationSample]:
        """The samples taken since the last drain."""
        with self.lock:
            taken, self.samples = self.samples, []
        return taken

    def stop(self) -> None:
        """Ends the thread (within one interval) and releases NVML; samples stay until drained."""
        if self.thread is not None:
            self.stopping.set()
            self.thread.join()
            self.thread = None
        if self.gpu is not None:
            self.gpu.close()

    def header(self) -> dict[str, Any]:
        """The session line of utilisation.jsonl."""
        return {"session_start": self.started_at, "interval_seconds": self.interval, "cpu_count": os.cpu_count(),
                "gpu": self.gpu_status}

    def __enter__(self) -> "UtilisationSampler":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _process_seconds() -> float:
    times = os.times()
    return times.user + times.system


def append_jsonl(path: str | os.PathLike, samples: list[UtilisationSample],
                 header: dict[str, Any] | None = None) -> None:
    """Appends ``samples`` (after ``header``, when a session starts) as JSON lines."""
    with Path(path).open("a") as f:
        if header is not None:
            f.write(json.dumps(header) + "\n")
        for sample in samples:
            f.write(json.dumps(asdict(sample)) + "\n")


def read_utilisation(path: str | os.PathLike) -> tuple[list[dict[str, Any]], list[UtilisationSample]]:
    """(session headers, samples) from a utilisation.jsonl; a torn last line (a killed run) is skipped."""
    sessions, samples = [], []
    for line in Path(path).read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "session_start" in row:
            sessions.append(row)
        else:
            samples.append(UtilisationSample(**row))
    return sessions, samples


__all__ = ["UTILISATION_NAME", "UtilisationSample", "UtilisationSampler", "GpuReader", "append_jsonl",
           "read_utilisation", "read_cpu_times", "read_rss_bytes"]
