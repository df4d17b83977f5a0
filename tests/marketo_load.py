"""One process of the shared-limits test: starts the engine as the app does (so it takes its
share of Marketo's limits through Table Storage), then reads persons from many threads as fast as
its limiter lets it. Settings come from the environment; prints what it did as one JSON line.

    python -m tests.marketo_load CALLS [BARRIER_DIR PARTIES]

With a barrier, the load starts only once PARTIES processes have started their engines (each
leaves a file in BARRIER_DIR): engine starts differ by seconds, and the test is about the loads
running at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sync.engine.runtime import Engine
from sync.settings import load_settings


def _barrier(directory: Path, parties: int, timeout_s: float = 120.0) -> None:
    (directory / f"{os.getpid()}.ready").touch()
    deadline = time.monotonic() + timeout_s
    while len(list(directory.glob("*.ready"))) < parties:
        if time.monotonic() > deadline:
            raise SystemExit(f"the other processes did not start within {timeout_s:.0f} s")
        time.sleep(0.05)


def main(calls: int, barrier: Path | None = None, parties: int = 1) -> None:
    engine = Engine.start(load_settings())
    if barrier is not None:
        _barrier(barrier, parties)
    persons = engine.marketo.persons
    limiter = engine.marketo.client.limiter
    ids = [p["id"] for p in persons.query("email", ["load@example.com"], ["id"])] or [1]
    started = time.time()
    with ThreadPoolExecutor(limiter.workers) as pool:
        list(pool.map(lambda n: persons.get(ids[n % len(ids)], ["email"]), range(calls)))
    ended = time.time()
    shares = engine.shares.held if engine.shares else []
    engine.close()
    print(json.dumps({"started": started, "ended": ended, "calls": calls, "shares_at_end": len(shares)}))


if __name__ == "__main__":
    main(
        int(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None, int(sys.argv[3]) if len(sys.argv) > 3 else 1
    )
