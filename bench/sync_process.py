"""The sync under test, in a process of its own: `python -m bench.sync_process full-copy` copies
every object the way the Durable orchestration does (begin, then one page step at a time, each
under its lease), and prints one JSON line: counts, calls, time per object, where the time went
and the process's peak memory and CPU. Settings come from the environment."""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from sync.engine.runtime import Engine
from sync.engine.steps import begin_step, copy_page_step
from sync.objects import FULL_COPY_ORDER
from sync.settings import load_settings


def _usage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_rss_mb": own.ru_maxrss / 1024, "cpu_s": own.ru_utime + own.ru_stime}


def _busy(engine: Engine) -> dict[str, float]:
    store = engine.store.tables.transport
    return {
        "marketo_limiter_wait": engine.marketo.client.limiter.waited_s,
        "marketo_http": engine.marketo.client.transport.busy_s,
        "dataverse_http": engine.dataverse.client.transport.busy_s,
        "table_storage": store.busy_s if store is not None else 0.0,
    }


def full_copy() -> dict[str, Any]:
    engine = Engine.start(load_settings())
    marketo_before, dataverse_before = engine.marketo.client.limiter.calls_made, engine.dataverse.client.calls
    busy_before, cpu_before = _busy(engine), _usage()["cpu_s"]
    writes_before = sum(engine.store.tables.writes.values())
    objects: dict[str, Any] = {}
    started = time.perf_counter()
    for obj in FULL_COPY_ORDER:
        object_started, calls_before = time.perf_counter(), engine.marketo.client.limiter.calls_made
        begin_step(engine, obj, again=False)
        pages = written = failed = 0
        while True:
            page = copy_page_step(engine, obj)
            if page.get("quota_reset_at") or page.get("busy") or page.get("paused"):
                raise SystemExit(f"{obj.value}: the copy stopped: {page}")
            pages += 1
            written += int(page.get("written", 0))
            failed += int(page.get("failed", 0))
            if page.get("complete"):
                break
        objects[obj.value] = {
            "records": int(page.get("done", 0)),
            "written": written,
            "failed": failed,
            "pages": pages,
            "wall_s": round(time.perf_counter() - object_started, 3),
            "marketo_calls": engine.marketo.client.limiter.calls_made - calls_before,
        }
    wall = time.perf_counter() - started
    busy = {k: round(v - busy_before[k], 3) for k, v in _busy(engine).items()}
    usage = _usage()
    result = {
        "wall_s": round(wall, 3),
        "objects": objects,
        "marketo_calls": engine.marketo.client.limiter.calls_made - marketo_before,
        "dataverse_calls": engine.dataverse.client.calls - dataverse_before,
        "store_writes": sum(engine.store.tables.writes.values()) - writes_before,
        "busy_s": {**busy, "own_cpu": round(usage["cpu_s"] - cpu_before, 3)},
        "peak_rss_mb": round(usage["peak_rss_mb"], 1),
        "cpu_s": round(usage["cpu_s"], 3),
    }
    engine.close()
    return result


JOBS = {"full-copy": full_copy}

if __name__ == "__main__":
    print(json.dumps(JOBS[sys.argv[1]]()))
