"""Where a benchmark's result goes: one JSON file under bench/results/ (or where --out says),
summarised on stdout — stamped with what produced it (`provenance`: the commit and whether the
tree differed from it, when, on which machine), so a figure can be traced to its code."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run([git, *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def provenance() -> dict[str, Any]:
    """The commit (None outside a checkout), whether files differed from it, the time, the machine,
    and the stacks the job ran on (latency profile, time scale, seed, settings)."""
    from bench.stack import STACKS  # the stack module starts emulators; only its record is read here

    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "stacks": list(STACKS),
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(status) if status is not None else None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_bytes": _memory_bytes(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
    }


def write_result(report: dict[str, Any], out: Path | None, default_name: str, hide: tuple[str, ...] = ()) -> int:
    path = out or RESULTS / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**report, "provenance": provenance()}, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in hide}, indent=2))
    print(f"written to {path}")
    return 0
