"""The first, full copy of one object: every stream read from the start by change tracking, page
by page, until each reaches its delta link; then the object turns incremental.

`advance_copy` copies pages while its caller lets it: a Durable activity a minute of them, the
CLI until the end. The checkpoint holds every stream's link, so a crash at any point resumes at the
page it was on, and the delta links at the end cover every change made during the copy. A copy
that starts with no link in the store skips link lookups: nothing can be there to compare with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sync.connectors.marketo.lanes import Lane, in_lane
from sync.engine.apply import PageCounts
from sync.engine.bulk_copy import BulkCopy, BulkState, bulk_state
from sync.engine.cursor import ObjectCursor
from sync.engine.engagement_stream import EngagementStream
from sync.engine.person_stream import PersonStream
from sync.engine.run_log import RunLog, failure_kind
from sync.engine.runtime import Engine
from sync.objects import D2M, PERSON_TABLES, SyncObject
from sync.store.checkpoints import Checkpoint, Phase
from sync.store.runs import RunKind, RunOutcome


class CopyPath(StrEnum):
    AUTO = "auto"  # bulk for a contact or lead table of at least SYNC_BULK_THRESHOLD rows, else REST
    REST = "rest"
    BULK = "bulk"


class BulkRefused(Exception):
    """The bulk path was asked for a copy it cannot make."""


@dataclass(frozen=True)
class Progress:
    object: SyncObject
    stream: str
    done: int  # rows read so far, every stream of the object
    complete: bool
    counts: PageCounts
    wait_s: float = 0.0  # a bulk job is running: nothing to do for this long


def record_total(engine: Engine, obj: SyncObject) -> int | None:
    """Rows of the object's Dynamics tables (a snapshot up to a day old): a progress bar's total."""
    tables = list(dict.fromkeys(p.table.logical_name for p in engine.pipelines[obj]))
    if not tables:
        return None
    counts = engine.dataverse.metadata.record_counts(tables)
    return sum(counts.values())


def _goes_bulk(engine: Engine, obj: SyncObject, path: CopyPath, fresh: bool) -> bool:
    """Bulk for a person table with no links yet: by request, or by size (auto)."""
    if path is CopyPath.REST or (path is CopyPath.AUTO and not engine.settings.sync.bulk_threshold):
        return False
    if obj not in PERSON_TABLES or not fresh:
        if path is CopyPath.BULK:
            why = "is not a contact or lead table" if obj not in PERSON_TABLES else "already has links"
            raise BulkRefused(
                f"{obj.value} {why}: the bulk path makes the first copy of a contact or lead table; "
                "use --path rest (or auto)"
            )
        return False
    return path is CopyPath.BULK or (record_total(engine, obj) or 0) >= engine.settings.sync.bulk_threshold


def begin_full_copy(
    engine: Engine, obj: SyncObject, *, again: bool = False, path: CopyPath = CopyPath.AUTO
) -> Checkpoint:
    """The object's full-copy checkpoint: made when missing, reset when `again` (a re-baseline
    the admin asked for), else the one under way (resumed where it stopped). A fresh contact or
    lead copy goes through Marketo's bulk import when `path` says so (bulk_copy.py)."""
    stream = PersonStream(engine)
    if obj is SyncObject.PERSON:
        return stream.begin()  # Marketo's side starts from the current position: nothing to copy
    if obj is SyncObject.ENGAGEMENT:
        return EngagementStream(engine).begin()  # from now too; its past is the bulk backfill's
    if obj in PERSON_TABLES:
        stream.begin()  # before the persons are copied, so Marketo edits made meanwhile are merged after
    store = engine.store
    current = store.checkpoints.get(obj, D2M)
    if current is not None and current.phase is Phase.FULL_COPY:
        return current
    if current is not None and not again:
        return current
    fresh = not any(store.links.any_for(p.stream) for p in engine.pipelines[obj])
    bulk = None
    if _goes_bulk(engine, obj, path, fresh):
        if not any(store.links.any_for(t.value) for t in PERSON_TABLES):
            store.bulk_emails.clear()  # an abandoned copy's emails: this one starts the persons afresh
        bulk = BulkState(started_at=datetime.now(UTC)).model_dump(mode="json")
    cursor = ObjectCursor(fresh=fresh, bulk=bulk).dump()
    if current is None:
        return store.checkpoints.save(Checkpoint(object=obj, direction=D2M, phase=Phase.FULL_COPY, cursor=cursor))
    return store.checkpoints.save(current.advanced(phase=Phase.FULL_COPY, cursor=cursor, counters={}))


def advance_copy(
    engine: Engine, checkpoint: Checkpoint, known_errors: set[str], more: Callable[[], bool]
) -> Iterator[tuple[Checkpoint, Progress]]:
    """Pages of the streams not yet copied, in order, while `more()` says so (each page's
    progress as its checkpoint moves); the object turns incremental after the last page."""
    obj = checkpoint.object
    pipelines = engine.pipelines[obj]
    if bulk_state(checkpoint) is not None:
        for bulk in BulkCopy(engine, pipelines[0]).advance(checkpoint, known_errors, more):
            progress = Progress(obj, pipelines[0].stream, bulk.done, bulk.complete, PageCounts(), bulk.wait_s)
            yield bulk.checkpoint, progress
        return
    for pipeline in pipelines:  # a crash may have left a journaled page unstored, the last one too
        checkpoint = engine.copier().recover(checkpoint, pipeline, known_errors)
    while True:
        cursor = ObjectCursor.parse(checkpoint.cursor)
        pending = [p for p in pipelines if not cursor.stream(p.stream).complete]
        if not pending:
            finished = engine.store.checkpoints.save(checkpoint.advanced(phase=Phase.INCREMENTAL))
            yield finished, Progress(obj, "", cursor.read, True, PageCounts())
            return
        pipeline = pending[0]
        for result in engine.copier().copy_pages(checkpoint, pipeline, known_errors=known_errors, more=more):
            saved = result.checkpoint
            cursor = ObjectCursor.parse(saved.cursor)
            complete = all(cursor.stream(p.stream).complete for p in pipelines)
            if complete:
                incremental = cursor.model_copy(update={"fresh": False}).dump()
                saved = engine.store.checkpoints.save(saved.advanced(phase=Phase.INCREMENTAL, cursor=incremental))
            checkpoint = saved
            yield saved, Progress(obj, pipeline.stream, cursor.read, complete, result.counts)
            if complete:
                return
        if not more():
            return


def copy_message(progress: Progress) -> str:
    """What a stretch of a full copy says of itself on the status page."""
    if progress.complete:
        return f"full copy complete: {progress.done:,} rows read"
    if progress.wait_s:
        return f"full copy: {progress.done:,} rows read; a bulk job is running at Marketo"
    return f"full copy: {progress.done:,} rows read so far"


def full_copy(
    engine: Engine,
    obj: SyncObject,
    *,
    again: bool = False,
    path: CopyPath = CopyPath.AUTO,
    on_page: Callable[[Progress], None] = lambda progress: None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Checkpoint, PageCounts, float]:
    """Copy the whole object now, in this process (the CLI's way; Azure uses the orchestration),
    sleeping while a bulk job runs."""
    started = time.monotonic()
    checkpoint = begin_full_copy(engine, obj, again=again, path=path)
    bulk = bulk_state(checkpoint) is not None
    totals = PageCounts()
    known = engine.store.errors.record_ids(obj, D2M)
    log = RunLog.begin(engine, obj, RunKind.FULL_COPY)
    progress = Progress(obj, "", ObjectCursor.parse(checkpoint.cursor).read, True, totals)
    copying = checkpoint.phase is Phase.FULL_COPY
    if copying:
        log.started()
    try:
        with in_lane(Lane.BACKFILL, obj.value):  # what incremental work leaves, and a floor
            while checkpoint.phase is Phase.FULL_COPY:
                wait_s = 0.0
                for saved, progress in advance_copy(engine, checkpoint, known, more=lambda: True):
                    checkpoint = saved
                    totals.add(progress.counts)
                    on_page(progress)
                    wait_s = progress.wait_s
                if wait_s:
                    sleep(wait_s)
    except BaseException as error:
        log.measure(totals, failure_kind(error))
        log.finish(RunOutcome.FAILED, f"{error or type(error).__name__}; `full-copy` again resumes from the checkpoint")
        raise
    if copying:
        log.measure(totals)
        log.finish(RunOutcome.SUCCEEDED, copy_message(progress))
    if bulk:  # the bulk copy counts in its checkpoint, not per page
        counters = checkpoint.counters
        totals = PageCounts(
            read=int(counters.get("read", 0)),
            written=int(counters.get("written", 0)),
            failed=int(counters.get("failed", 0)),
        )
    return checkpoint, totals, time.monotonic() - started
