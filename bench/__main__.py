"""`python -m bench [JOB ...]`: the sync's benchmarks (`full-copy`, `incremental`, `lag`,
`transform`, `peers`, `report`), or, with no job, every emulator benchmark (`bench_*` modules),
each in its own process so memory figures are its own. Results go under bench/results/."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from collections.abc import Callable

import bench


def emulators() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    failed = [name for name in names if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode]
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _jobs() -> dict[str, Callable[[list[str]], int]]:
    from bench import engagement, full_copy, incremental, lag, peers, report, transform

    return {
        "engagement": engagement.main,
        "full-copy": full_copy.main,
        "incremental": incremental.main,
        "lag": lag.main,
        "transform": transform.main,
        "peers": peers.main,
        "report": report.main,
    }


def main(argv: list[str]) -> int:
    if not argv:
        return emulators()
    jobs = _jobs()
    if argv[0] not in jobs:
        print(f"unknown job {argv[0]!r}; use one of: {', '.join(jobs)} (or none for the emulator benchmarks)")
        return 2
    return jobs[argv[0]](argv[1:])


raise SystemExit(main(sys.argv[1:]))
