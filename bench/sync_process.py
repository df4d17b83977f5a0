"""The sync under test, in a process of its own: `python -m bench.sync_process full-copy` copies
every object the way the Durable orchestration does (begin, then one page step at a time, each
under its lease), and prints one JSON line: counts, calls, time per object, where the time went
and the process's peak memory and CPU. Settings come from the environment."""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.editors import Editors
from bench.marketo_routes import count_routes
from bench.memory import peak_rss_mb
from sync.engine.full_copy import CopyPath
from sync.engine.person_stream import SWEEP_EVERY
from sync.engine.run import run_once
from sync.engine.runtime import Engine
from sync.engine.steps import begin_step, copy_page_step
from sync.objects import DIRECTIONS, FULL_COPY_ORDER, PERSON_TABLES
from sync.settings import load_settings


def _usage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_rss_mb": peak_rss_mb(), "cpu_s": own.ru_utime + own.ru_stime}


def _busy(engine: Engine) -> dict[str, float]:
    store = engine.store.tables.transport
    return {
        "marketo_limiter_wait": engine.marketo.client.limiter.waited_s,
        "marketo_http": engine.marketo.client.transport.busy_s,
        "dataverse_http": engine.dataverse.client.transport.busy_s,
        "table_storage": store.busy_s if store is not None else 0.0,
    }


def full_copy(*args: str) -> dict[str, Any]:
    """Every object in dependency order, or only the objects named; `path=bulk` (or rest) for
    contacts and leads, sleeping while a bulk job runs as the orchestration's timer would."""
    path = next((CopyPath(a.removeprefix("path=")) for a in args if a.startswith("path=")), CopyPath.AUTO)
    only = [a for a in args if not a.startswith("path=")]
    engine = Engine.start(load_settings())
    routes = count_routes(engine.marketo.client.transport)
    marketo_before, dataverse_before = engine.marketo.client.limiter.calls_made, engine.dataverse.client.calls
    busy_before, cpu_before = _busy(engine), _usage()["cpu_s"]
    writes_before = sum(engine.store.tables.writes.values())
    objects: dict[str, Any] = {}
    started = time.perf_counter()
    for obj in [o for o in FULL_COPY_ORDER if not only or o.value in only]:
        object_started, calls_before = time.perf_counter(), engine.marketo.client.limiter.calls_made
        routes_before = routes.copy()
        begin_step(engine, obj, again=False, path=path if obj in PERSON_TABLES else CopyPath.AUTO)
        pages = written = failed = 0
        while True:
            page = copy_page_step(engine, obj)
            if page.get("quota_reset_at") or page.get("busy") or page.get("paused"):
                raise SystemExit(f"{obj.value}: the copy stopped: {page}")
            if page.get("wait_s"):
                time.sleep(float(page["wait_s"]))
            pages += 1
            written += int(page.get("written", 0))
            failed += int(page.get("failed", 0))
            if page.get("complete"):
                break
        checkpoint = engine.store.checkpoints.get(obj, DIRECTIONS[obj][0])
        if checkpoint is not None and obj in PERSON_TABLES and path is not CopyPath.REST:
            written, failed = (
                int(checkpoint.counters.get("written", written)),
                int(checkpoint.counters.get("failed", failed)),
            )
        objects[obj.value] = {
            "records": int(page.get("done", 0)),
            "written": written,
            "failed": failed,
            "pages": pages,
            "wall_s": round(time.perf_counter() - object_started, 3),
            "marketo_calls": engine.marketo.client.limiter.calls_made - calls_before,
            "marketo_calls_by_route": dict(routes - routes_before),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    wall = time.perf_counter() - started
    busy = {k: round(v - busy_before[k], 3) for k, v in _busy(engine).items()}
    usage = _usage()
    result = {
        "wall_s": round(wall, 3),
        "objects": objects,
        "marketo_calls": engine.marketo.client.limiter.calls_made - marketo_before,
        "startup_marketo_calls": marketo_before,  # the engine's start: usage, describes, fields it creates
        "dataverse_calls": engine.dataverse.client.calls - dataverse_before,
        "store_writes": sum(engine.store.tables.writes.values()) - writes_before,
        "busy_s": {**busy, "own_cpu": round(usage["cpu_s"] - cpu_before, 3)},
        "peak_rss_mb": round(usage["peak_rss_mb"], 1),
        "cpu_s": round(usage["cpu_s"], 3),
    }
    engine.close()
    return result


def _copy_all(engine: Engine) -> None:
    for obj in FULL_COPY_ORDER:
        begin_step(engine, obj, again=False)
        while not copy_page_step(engine, obj).get("complete"):
            pass


def _cycle(engine: Engine) -> tuple[int, int, int]:
    """One run of every object, as the timers fire them: (written, Marketo calls, Dataverse calls)."""
    marketo, dataverse = engine.marketo.client.limiter.calls_made, engine.dataverse.client.calls
    written = sum(run_once(engine, obj).written for obj in FULL_COPY_ORDER)
    return written, engine.marketo.client.limiter.calls_made - marketo, engine.dataverse.client.calls - dataverse


def incremental(fraction: str, cycles: str) -> dict[str, Any]:
    settings = load_settings()
    engine = Engine.start(settings)
    _copy_all(engine)
    _cycle(engine)  # settles what the copy itself reads back
    people = Editors(settings)
    lags: list[float] = []
    per_cycle = []
    for n in range(int(cycles)):
        changes = people.change(float(fraction), n)
        written, marketo, dataverse = _cycle(engine)
        arrived = time.time()
        waiting = people.not_arrived(changes)
        lags += [arrived - change.at for change in changes if change.key not in waiting]
        per_cycle.append(
            {
                "changed": len(changes),
                "written": written,
                "marketo_calls": marketo,
                "dataverse_calls": dataverse,
                "not_arrived": len(waiting),
            }
        )
    quiet = [_cycle(engine) for _ in range(3)]  # an hourly usage read may fall in one of them
    quiet_written, quiet_marketo, quiet_dataverse = min(quiet, key=lambda cycle: cycle[1])
    changed = sum(c["changed"] for c in per_cycle)
    engine.close()
    people.close()
    lags.sort()
    return {
        "cycles": per_cycle,
        "changed": changed,
        "marketo_calls_per_changed_record": round(sum(c["marketo_calls"] for c in per_cycle) / changed, 4),
        "dataverse_calls_per_changed_record": round(sum(c["dataverse_calls"] for c in per_cycle) / changed, 4),
        "lag_p50_s": round(lags[len(lags) // 2], 3) if lags else None,
        "lag_p95_s": round(lags[int(len(lags) * 0.95)], 3) if lags else None,
        "quiescent_cycle": {
            "written": quiet_written,
            "marketo_calls": quiet_marketo,
            "dataverse_calls": quiet_dataverse,
        },
        "quiescent_cycles_written": [cycle[0] for cycle in quiet],
        # one-minute timers, the usage read hourly, a late-activity sweep (two calls) every SWEEP_EVERY
        "idle_marketo_calls_per_day": quiet_marketo * 24 * 60 + 24 + round(2 * 86400 / SWEEP_EVERY.total_seconds()),
        **{k: round(v, 1) for k, v in _usage().items()},
    }


def read(*args: str) -> dict[str, Any]:
    """Every row of the tables, as the full copy reads them (change tracking, its page size, the
    mapped columns; `columns=all`: every column, no `$select`, as Airbyte's source reads them),
    and nothing else: the peer comparison's Dataverse half."""
    every_column = "columns=all" in args
    tables = [a for a in args if a != "columns=all"]
    engine = Engine.start(load_settings())
    pipelines = {p.stream: p for ps in engine.pipelines.values() for p in ps}
    started, rows = time.perf_counter(), 0
    for table in tables:
        pipeline = pipelines[table]
        entity_set = pipeline.table.entity_set
        link: str | None = (
            f"{engine.dataverse.client.api}{entity_set}"
            if every_column
            else engine.dataverse.changes.first_link(entity_set, pipeline.select)
        )
        while link:
            page = next(iter(engine.dataverse.changes.read_changes(link)))
            rows += len(page.rows)
            link = None if page.complete else page.resume_link
    wall = time.perf_counter() - started
    engine.close()
    return {"records": rows, "wall_s": round(wall, 3), **{k: round(v, 1) for k, v in _usage().items()}}


JOBS: dict[str, Callable[..., dict[str, Any]]] = {"full-copy": full_copy, "incremental": incremental, "read": read}

if __name__ == "__main__":
    print(json.dumps(JOBS[sys.argv[1]](*sys.argv[2:])))
