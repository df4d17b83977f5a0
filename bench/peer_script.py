"""What a user writes by hand instead of the sync: read the persons, push them to Marketo with
`marketorestpython` in batches of 300, waiting 20 s when Marketo says 606 (and a second on 615,
too many at once) — one call after another, or, as a competent user would, on THREADS threads
(Marketo takes 10 at once), a client per thread. Run as `python -m bench.peer_script ROWS_JSON
[THREADS]` with MARKETO_* in the environment (and REQUESTS_CA_BUNDLE, which is how that library
is told to trust a CA); prints one JSON line."""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from marketorestpython.client import MarketoClient

from bench.memory import peak_rss_mb

FIELDS = {"emailaddress1": "email", "firstname": "firstName", "lastname": "lastName", "jobtitle": "title"}


WAITS = {"606": 20.0, "615": 1.0}  # rate limit (its 20 s window), concurrency limit


def _client() -> MarketoClient:
    client = MarketoClient("000-AAA-000", os.environ["MARKETO_CLIENT_ID"], os.environ["MARKETO_CLIENT_SECRET"])
    client.host = os.environ["MARKETO_BASE_URL"]
    return client


def push(rows: list[dict[str, Any]], threads: int = 1) -> dict[str, Any]:
    leads = [{target: row.get(source) for source, target in FIELDS.items()} for row in rows]
    batches = [leads[start : start + 300] for start in range(0, len(leads), 300)]
    local = threading.local()
    lock = threading.Lock()
    counted = {"calls": 0, "throttled": 0}

    def send(batch: list[dict[str, Any]]) -> None:
        if not hasattr(local, "client"):
            local.client = _client()
        while True:
            with lock:
                counted["calls"] += 1
            try:
                local.client.execute(
                    method="create_update_leads", leads=batch, action="createOrUpdate", lookupField="email"
                )
                return
            except Exception as error:  # marketorestpython raises a plain Exception carrying the code
                wait = next((s for code, s in WAITS.items() if code in str(error)), None)
                if wait is None:
                    raise
                with lock:
                    counted["throttled"] += 1
                time.sleep(wait)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, batches))
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "records": len(leads),
        "threads": threads,
        "wall_s": round(time.perf_counter() - started, 3),
        "marketo_calls": counted["calls"],
        "throttled": counted["throttled"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "cpu_s": round(own.ru_utime + own.ru_stime, 3),
    }


if __name__ == "__main__":
    print(json.dumps(push(json.loads(Path(sys.argv[1]).read_text()), int(sys.argv[2]) if len(sys.argv) > 2 else 1)))
