"""Engagement's past: `full-copy --object engagement --since 30d` reads it through Marketo's bulk
activity extract — one job per 31 days (the extract's longest window), its file read in parts —
instead of a REST page per 300 activities, and writes it as the stream does (engagement_writes.py),
1,000 activities a batch. Idempotent: rows by their key, roll-ups by their members, so a backfill
run twice, or overlapping the stream, adds nothing. The job's wait is the caller's (`wait`),
polling every SYNC_BULK_POLL_S; the file counts against Marketo's 500 MB daily export quota.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sync.engine.apply import PageCounts
from sync.engine.engagement_writes import write_engagement
from sync.engine.runtime import Engine

WINDOW: Final = timedelta(days=31)
CHUNK: Final = 1000


class BackfillRefused(Exception):
    """Engagement cannot be backfilled now: the message says why and the fix."""


@dataclass
class BackfillProgress:
    """So far, over every window."""

    window: tuple[datetime, datetime]  # the one being read
    extracted: int = 0
    counts: PageCounts = field(default_factory=PageCounts)


def activity_of(row: dict[str, str]) -> dict[str, Any]:
    """An extract's CSV row as the REST API gives the activity (attributes as name/value pairs)."""
    value = {k: (None if v == "null" else v) for k, v in row.items()}
    attributes = json.loads(value.get("attributes") or "{}")
    return {
        **value,
        "activityTypeId": int(str(value["activityTypeId"])),
        "leadId": int(str(value["leadId"])),
        "attributes": [{"name": k, "value": v} for k, v in attributes.items()],
    }


def windows(since: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    start = since
    while start < until:
        end = min(start + WINDOW, until)
        yield start, end
        start = end


def backfill_engagement(
    engine: Engine, since: datetime, until: datetime, wait: Callable[[float], None] = time.sleep
) -> Iterator[BackfillProgress]:
    """Each window's extract, written; its progress after each batch."""
    plan = engine.engagement
    why = plan.missing() if plan is not None else "engagement is off in the mapping file"
    if plan is None or why is not None:
        raise BackfillRefused(f"engagement cannot be backfilled: {why}")
    bulk = engine.marketo.bulk_activities
    progress = BackfillProgress((since, until))
    for window in windows(since, until):
        progress.window = window
        export_id = bulk.start_extract(sorted(plan.types), *window)
        status = bulk.extract_status(export_id)
        while not status.done:
            wait(engine.settings.sync.bulk_poll_s)
            status = bulk.extract_status(export_id)
        batch: list[dict[str, Any]] = []
        for row in bulk.extract_rows(status):
            batch.append(activity_of(row))
            if len(batch) == CHUNK:
                progress = _written(engine, progress, batch)
                batch = []
                yield progress
        if batch:
            progress = _written(engine, progress, batch)
        yield progress


def _written(engine: Engine, progress: BackfillProgress, batch: list[dict[str, Any]]) -> BackfillProgress:
    progress.counts.add(write_engagement(engine, batch))
    progress.extracted += len(batch)
    return progress
