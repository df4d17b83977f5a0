"""One process of the shared-limits test: starts the engine as the app does (so it takes its
share of Marketo's limits through Table Storage), then reads persons from many threads as fast as
its limiter lets it. Settings come from the environment; prints what it did as one JSON line.

    python -m tests.marketo_load CALLS
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from sync.engine.runtime import Engine
from sync.settings import load_settings


def main(calls: int) -> None:
    engine = Engine.start(load_settings())
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
    main(int(sys.argv[1]))
