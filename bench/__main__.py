"""`python -m bench`: run every benchmark module and write results under bench/results/."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    names = [m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")]
    if not names:
        print("no benchmarks yet", file=sys.stderr)
        return 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        module.main()
    return 0


raise SystemExit(main())
