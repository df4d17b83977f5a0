"""The CLI's commands that only read or mark the store: `status`, `errors`, `pause`, `resume`
(the same calls as `GET sync/status`, `GET sync/errors`, `POST sync/errors/retry`,
`POST sync/pause` and `POST sync/resume`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from sync.engine.pause import pause, paused, resume
from sync.objects import SyncObject
from sync.reporting.errors_export import errors_as_csv, errors_as_json
from sync.reporting.status import status_report
from sync.reporting.status_text import status_table
from sync.store import SyncStore
from sync.store.change_queue import ChangeQueue


def status_command(store: SyncStore, as_json: bool, queue: ChangeQueue | None = None) -> int:
    report = status_report(store, datetime.now(UTC), queue=queue)
    print(json.dumps(report, indent=2) if as_json else status_table(report))
    return 0


def errors_command(store: SyncStore, obj: SyncObject | None, parked: bool | None, as_csv: bool, retry: bool) -> int:
    """Export the errors (JSON, or CSV); `retry` first unparks them and makes them due now."""
    if retry:
        print(f"retry requested for {store.errors.request_retry(obj)} error(s)", file=sys.stderr)
    rows = store.errors.list(obj, parked=parked)
    if as_csv:
        sys.stdout.write(errors_as_csv(rows))
    else:
        print(json.dumps(errors_as_json(rows), indent=2))
    return 0


def pause_command(store: SyncStore, objects: Sequence[SyncObject]) -> int:
    newly = pause(store, objects, datetime.now(UTC))
    since = paused(store)
    for obj in objects:
        state = "paused now" if obj in newly else f"already paused since {since[obj].isoformat(timespec='seconds')}"
        print(f"{obj.value:<16} {state}")
    return 0


def resume_command(store: SyncStore, objects: Sequence[SyncObject]) -> int:
    """Resume; runs pick up from the stored position. An object resumed mid full copy continues
    its copy at its next timer (or `full-copy`, `run`)."""
    resumed = resume(store, objects)
    for obj in objects:
        print(f"{obj.value:<16} {'resumed' if obj in resumed else 'was not paused'}")
    return 0
