"""What this machine is and what is installed on it, read when a sweep or a report runs.

Every number in a report says where it was measured; the sweep records this next to its rows and the
report prints it for the machine that wrote the report, beside the hardware each run recorded.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any


def _first_field(path: str, key: str) -> str | None:
    """The value of the first ``key: value`` line of a /proc file, or None where it cannot be read."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _first_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"


def memory_bytes() -> int | None:
    total = _first_field("/proc/meminfo", "MemTotal")  # "131072000 kB"
    return int(total.split()[0]) * 1024 if total else None


def package_version(name: str) -> str | None:
    """The installed distribution's version, without importing it (torch takes seconds to import)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def gpus() -> list[str]:
    """Names of the GPUs dlcore can use here (empty in a CPU-only build or without a GPU)."""
    from .. import cuda  # noqa: PLC0415  (the engine loads only when asked)

    return [cuda.get_device_name(i) for i in range(cuda.device_count())]


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, GPUs, OS, Python and the frameworks' versions, with the load and the date."""
    from .. import __version__ as dlcore_version  # noqa: PLC0415

    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "gpus": gpus(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "dlcore_version": dlcore_version,
        "torch_version": package_version("torch"),
        "numpy_version": package_version("numpy"),
        "matplotlib_version": package_version("matplotlib"),
        # other jobs on a shared machine skew CPU timings: say how busy it was
        "load_average_1_5_15": list(os.getloadavg()),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
