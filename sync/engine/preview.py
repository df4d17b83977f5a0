"""Know before you sync: what the first copy of an object would do to a Marketo instance that may
already hold its records, read from both sides as the copy reads them and written nowhere (neither
system, nor the store; the caller keeps the report).

Page by page, as the copy reads: each row decided by the copy's own pipeline — left out by the sync
filter; failing (a value the mapping cannot carry: a wrong type, longer than the Marketo field
holds) with the copy's reason; waiting for a person not in Marketo yet — and the page's decided
records matched against what Marketo holds: leads and contacts by email (`preview_persons.py`),
other records by the Dynamics id in their dedupe field (`preview_records.py`). Streams whose rows
are links between records (opportunity roles) are named as not previewed.

Cost: the preview's own Marketo calls (a describe, one per 300 emails or ids), and what the copy
would take through REST — its calls and, at Marketo's call rate, its time. A time limit (an
activity's) stops it between pages with the counts so far, marked incomplete.
"""

from __future__ import annotations

import math
import time as clock
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final, Protocol

from sync.connectors.dataverse.changes import ANNOTATIONS
from sync.connectors.marketo.lanes import Lane, in_lane
from sync.connectors.marketo.limiter import MARKETO_DAY_ZONE
from sync.engine.full_copy import record_total
from sync.engine.pipelines import Pipeline
from sync.engine.plan import Pending, Skip, TakeOver
from sync.engine.preview_persons import PersonMatching
from sync.engine.preview_records import RecordMatching
from sync.engine.preview_report import ObjectPreview
from sync.engine.runtime import Engine
from sync.engine.targets import ObjectTarget
from sync.mapping.records import Mapped
from sync.objects import PERSON_TABLES, SyncObject
from sync.tally import close_tally, open_tally

PAGE: Final = 5000


class Matching(Protocol):
    def page(self, engine: Engine, result: ObjectPreview, decided: list[tuple[str, dict[str, Any]]]) -> None: ...

    def finish(self, engine: Engine, result: ObjectPreview) -> None: ...


def preview(engine: Engine, obj: SyncObject, deadline: float | None = None) -> ObjectPreview:
    """What the first copy of `obj` would do; writes nothing. `deadline` (time.monotonic) ends it
    early, between pages."""
    tally, token = open_tally()
    try:
        with in_lane(Lane.INCREMENTAL, obj.value):  # an admin waits for it
            result = _preview(engine, obj, deadline)
    finally:
        close_tally(token)
    result.marketo_calls = tally.marketo
    limiter = engine.marketo.client.limiter
    now = datetime.now(UTC)
    local = now.astimezone(MARKETO_DAY_ZONE)
    next_day = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=MARKETO_DAY_ZONE)
    result.daily_budget = engine.settings.marketo.daily_call_budget
    drawn = engine.store.marketo_shares.drawn(local.date().isoformat())  # every process's calls today
    result.calls_left_today = max(0, result.daily_budget - drawn)
    result.eta_s = copy_eta_s(
        result.copy_marketo_calls,
        limiter.calls / limiter.window_s,
        result.daily_budget,
        result.calls_left_today,
        (next_day - local).total_seconds(),
    )
    result.made_at = now.isoformat(timespec="seconds")
    return result


def copy_eta_s(
    calls: int, per_second: float, daily_budget: int, left_today: int | None = None, to_next_day_s: float = 86_400
) -> float:
    """The copy's time at Marketo's call rate, with today's quota as it stands: past what is left
    today the copy stops at the budget and goes on when Marketo's day turns (midnight US Central),
    a day's budget at a time."""
    left = daily_budget if left_today is None else left_today
    if calls <= left:
        return round(calls / per_second, 1)
    days = math.ceil((calls - left) / daily_budget)  # further Marketo days
    last_day = calls - left - (days - 1) * daily_budget
    return round(to_next_day_s + (days - 1) * 86_400 + last_day / per_second, 1)


def preview_and_keep(engine: Engine, obj: SyncObject, deadline: float | None = None) -> ObjectPreview:
    """The preview, kept in the store as the object's latest (running, then done or failed with
    the reason) for the preview page and `GET sync/preview`."""
    started_at = datetime.now(UTC)
    engine.store.previews.begin(obj.value)
    try:
        result = preview(engine, obj, deadline)
    except Exception as exc:
        engine.store.previews.fail(obj.value, f"{type(exc).__name__}: {exc}", started_at)
        raise
    engine.store.previews.finish(obj.value, result.as_json(), started_at)
    return result


def _matching(engine: Engine, pipeline: Pipeline) -> Matching | None:
    if pipeline.object in PERSON_TABLES:
        return PersonMatching.start(engine, pipeline)
    if isinstance(pipeline.target, ObjectTarget):
        return RecordMatching.start(engine, pipeline)
    return None


def _preview(engine: Engine, obj: SyncObject, deadline: float | None) -> ObjectPreview:
    threshold = engine.settings.sync.bulk_threshold
    result = ObjectPreview(object=obj.value)
    if obj in PERSON_TABLES and threshold and (record_total(engine, obj) or 0) >= threshold:
        result.path = "bulk"
    for pipeline in engine.pipelines[obj]:
        matching = _matching(engine, pipeline)
        if matching is None:
            result.not_previewed.append(pipeline.stream)
            continue
        for rows in _pages(engine, pipeline):
            matching.page(engine, result, _decided(engine, pipeline, result, rows))
            if deadline is not None and clock.monotonic() >= deadline:
                result.complete = False
                break
        matching.finish(engine, result)
        if not result.complete:
            break
    return result


def _decided(
    engine: Engine, pipeline: Pipeline, result: ObjectPreview, rows: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """The page's rows as the copy decides them (the persons they refer to looked up in the links,
    as the copy does); those it would write, with their values."""
    referenced = {ref for row in rows for ref in pipeline.references(row)}
    persons = engine.store.links.get_many_by_dynamics(referenced) if referenced else {}
    decided: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        result.read += 1
        record_id = pipeline.row_id(row).lower()
        decision = pipeline.decide(row, persons)
        if isinstance(decision, TakeOver):
            decision = decision.mapped
        if isinstance(decision, Pending):
            result.waiting += 1
            result.sample("waiting", f"{record_id}: {decision.reason}")
        elif decision is Skip.FILTERED or not isinstance(decision, Mapped):
            result.filtered_out += 1
            result.sample("filtered_out", record_id)
        elif decision.problems:  # the mapping's checks: types, and Marketo's field lengths
            result.failed(record_id, "; ".join(decision.problems))
        else:
            decided.append((record_id, decision.values))
    return decided


def _pages(engine: Engine, pipeline: Pipeline) -> Iterator[list[dict[str, Any]]]:
    params = {"$select": ",".join(pipeline.select)}
    prefer = [ANNOTATIONS, f"odata.maxpagesize={PAGE}"]
    for body in engine.dataverse.client.read_pages(pipeline.table.entity_set, params=params, prefer=prefer):
        yield list(body.get("value", []))
