"""The steps Durable activities run, as plain JSON in and out: begin a full copy, copy pages
(a minute of them, pipelined), resync one page of a field. Each returns within its budget;
waiting (for a quota reset, for a lease another run holds) is the orchestration's, as a
durable timer.

Activities are delivered at least once: a page repeated after a crash or a redelivery rewrites
what it wrote, keyed as always, and creates nothing twice.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Final

from sync.connectors.marketo.errors import MarketoQuotaExhausted
from sync.connectors.marketo.lanes import Lane, in_lane
from sync.engine.apply import PageCounts
from sync.engine.cursor import ObjectCursor
from sync.engine.full_copy import CopyPath, advance_copy, begin_full_copy, copy_message, record_total
from sync.engine.pause import paused
from sync.engine.resync import ResyncRequest, resync_page, resync_total
from sync.engine.run_log import RunLog, failure_kind
from sync.engine.runtime import Engine
from sync.objects import D2M, DIRECTIONS, SyncObject
from sync.store.checkpoints import Phase
from sync.store.runs import RunKind, RunOutcome

LEASE: Final = timedelta(minutes=15)
# One copy activity's pages: long enough to keep Marketo busy through the pipeline, short enough
# that progress shows every minute and the activity ends far inside the function timeout.
COPY_STEP_BUDGET_S: Final = 60.0


def begin_step(engine: Engine, obj: SyncObject, again: bool, path: CopyPath = CopyPath.AUTO) -> dict[str, Any]:
    with in_lane(Lane.BACKFILL, obj.value):
        checkpoint = begin_full_copy(engine, obj, again=again, path=path)
    return {"object": obj.value, "done": _done(checkpoint.cursor, obj), "total": record_total(engine, obj)}


def copy_page_step(engine: Engine, obj: SyncObject, budget_s: float = COPY_STEP_BUDGET_S) -> dict[str, Any]:
    """Pages of the object's full copy under its lease, pipelined, for up to `budget_s` (then
    the page under way finishes). Says whether the copy is complete, the object paused, the
    lease busy, or Marketo's quota spent (with when it resets)."""
    store = engine.store
    if obj in paused(store):
        return {"object": obj.value, "paused": True}
    lease = store.leases.acquire(obj, f"{engine.owner}:full-copy", LEASE)
    if lease is None:
        return {"object": obj.value, "busy": True}
    try:
        checkpoint = store.checkpoints.get(obj, DIRECTIONS[obj][0])
        if checkpoint is None:
            checkpoint = begin_full_copy(engine, obj)
        if checkpoint.phase is not Phase.FULL_COPY:
            return {"object": obj.value, "complete": True, "done": _done(checkpoint.cursor, obj)}
        known = store.errors.record_ids(obj, D2M)
        ends = time.monotonic() + budget_s
        log, counts = RunLog.begin(engine, obj, RunKind.FULL_COPY), PageCounts()
        log.started()
        try:
            with in_lane(Lane.BACKFILL, obj.value):  # what incremental work leaves, and a floor
                for _, progress in advance_copy(
                    engine, checkpoint, known, more=lambda: time.monotonic() < ends and obj not in paused(store)
                ):
                    counts.add(progress.counts)
        except MarketoQuotaExhausted as error:
            log.measure(counts, failure_kind(error))
            log.finish(RunOutcome.FAILED, f"{error}; the copy waits for the reset and goes on")
            return {"object": obj.value, "quota_reset_at": error.resets_at.isoformat(), "message": error.message}
        except BaseException as error:
            log.measure(counts, failure_kind(error))
            log.finish(RunOutcome.FAILED, f"{error or type(error).__name__}; tried again from the checkpoint")
            raise
        log.measure(counts)
        log.finish(RunOutcome.SUCCEEDED, copy_message(progress))
        step: dict[str, Any] = {"object": obj.value, "complete": progress.complete, "done": progress.done}
        if progress.wait_s:
            step["wait_s"] = progress.wait_s  # a bulk job runs: the orchestration waits on a timer
        return {**step, "written": counts.written, "failed": counts.failed}
    finally:
        store.leases.release(lease)


def resync_step(engine: Engine, request: ResyncRequest, cursor: str | None) -> dict[str, Any]:
    obj = request.object
    if obj in paused(engine.store):
        return {"object": obj.value, "paused": True, "cursor": cursor}
    total = {"total": resync_total(engine, request)} if cursor is None else {}  # the first page: for the ETA
    page = resync_page(engine, request, cursor)
    return {
        **total,
        "object": obj.value,
        "read": page.read,
        "written": page.written,
        "failed": page.failed,
        "cursor": page.cursor,
        "complete": page.cursor is None,
    }


def _done(cursor: str | None, obj: SyncObject) -> int:
    if obj is SyncObject.PERSON:
        return 0
    return ObjectCursor.parse(cursor).read
