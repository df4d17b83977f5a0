"""The sync's side of `python -m bench engagement` (run as its own process): engagement's setup and
the first copy, then stretches of a busy day replayed minute by minute on Marketo's clock — the
day's mix of activities logged each minute, the person stream's timer every minute (its page
scans carry whatever the log holds), engagement's own timer every `every` minutes (its default
schedule: 30) — counting every Marketo call each makes and every Dynamics `$batch` it takes."""

from __future__ import annotations

import json
import sys
from typing import Any

import requests

from bench.sync_process import _copy_all, _usage
from sync.engine.engagement_setup import EngagementSetup
from sync.engine.run import run_once
from sync.engine.runtime import Engine
from sync.mapping.file import EngagementEntry
from sync.objects import SyncObject
from sync.settings import load_settings

MINUTE_S = 60


def _control(base: str, ca: str | None, path: str, body: Any = None, method: str = "POST") -> Any:
    answer = requests.request(method, f"{base}/_emulator/{path}", json=body, verify=ca or True, timeout=600)
    answer.raise_for_status()
    return answer.json()


def engagement(per_day: str, minutes: str, every: str) -> dict[str, Any]:
    settings = load_settings()
    ca = str(settings.marketo.ca_file) if settings.marketo.ca_file else None
    marketo = settings.marketo.base_url
    engine = Engine.start(settings)
    EngagementSetup(engine.dataverse, settings.dataverse.publisher_prefix).run(EngagementEntry())
    engine.close()
    engine = Engine.start(settings)  # the plan sees the table setup made
    _copy_all(engine)
    # not counted: the copy's own New Lead activities, which both streams' first pages scan past
    _control(marketo, ca, "clock", {"advance_seconds": 11 * MINUTE_S})
    for obj in (SyncObject.PERSON, SyncObject.ENGAGEMENT, SyncObject.PERSON):
        run_once(engine, obj, follow=False)
    per_minute = int(per_day) / 1440
    calls = {"person": 0, "engagement": 0}
    logged, owed = 0, 0.0
    batches = 0
    scheduled = {"calls": 0, "read": 0}  # engagement's timer runs alone (the final drain aside)
    for minute in range(1, int(minutes) + 1):
        owed += per_minute
        count, owed = int(owed), owed - int(owed)
        logged += _control(marketo, ca, "engagement", {"generate": {"count": count, "span_s": MINUTE_S}})["activities"]
        _control(marketo, ca, "clock", {"advance_seconds": MINUTE_S})
        calls["person"] += run_once(engine, SyncObject.PERSON, follow=False).marketo_calls
        if minute % int(every) == 0:
            run = run_once(engine, SyncObject.ENGAGEMENT, follow=False)
            calls["engagement"] += run.marketo_calls
            scheduled["calls"] += run.marketo_calls
            scheduled["read"] += run.read
            batches += run.dataverse_calls  # its only Dynamics calls: the $batch requests
    _control(marketo, ca, "clock", {"advance_seconds": 11 * MINUTE_S})  # past the late window: the rest
    drained = run_once(engine, SyncObject.ENGAGEMENT, follow=False)
    calls["engagement"] += drained.marketo_calls
    batches += drained.dataverse_calls
    # every row, from the emulator's data control ($count stops at 5,000)
    rows = len(_control(settings.dataverse.url, ca, "data/mkto_marketoactivity", method="GET")["rows"])
    plan = engine.engagement
    engine.close()
    return {
        "activities_logged": logged,
        "rides": bool(plan and plan.rides),
        "marketo_calls": calls,
        "engagement_scheduled_runs": scheduled,
        "dataverse_batches": batches,
        "timeline_rows": rows,
        "last_run": drained.message,
        **{k: round(v, 1) for k, v in _usage().items()},
    }


if __name__ == "__main__":
    print(json.dumps(engagement(*sys.argv[1:])))
