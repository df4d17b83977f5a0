"""`python -m bench`: run every benchmark, each in its own process (so memory figures are its own),
and write results under bench/results/."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import bench


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    failed = [name for name in names if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode]
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


raise SystemExit(main())
