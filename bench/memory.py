"""The process's own peak memory. Not `getrusage().ru_maxrss`: on Linux that keeps the high-water
mark of the process it was forked from across exec (a benchmark's parent holding data would
show in its child's figure); /proc/self/status's VmHWM is this process image's alone."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
