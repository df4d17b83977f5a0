"""One page at a time: what the full copy (Durable activity or CLI) and every incremental run repeat.

read a page of one stream after its cursor → look up its links and the persons it refers to →
decide and plan (pure) → write to Marketo in full batches → store links and errors → move the
checkpoint (compare-and-swap). The checkpoint moves only once what the page must store is
durable (stored, or journaled: sync/store/journal.py), so a crash anywhere repeats at most the
page being written, and every write is keyed so that repeating it creates nothing twice.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.engine.apply import RUN_STOPPING, PageCounts, Settlement, settlement_of, store_settlement
from sync.engine.cursor import ObjectCursor
from sync.engine.pipelines import Pipeline
from sync.engine.plan import Plan, plan_page
from sync.engine.streams import StreamPage, StreamReader
from sync.engine.targets import Outcome
from sync.objects import SyncObject
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint
from sync.store.links import Link
from sync.store.notices import PERSON_DELETED


@dataclass(frozen=True)
class Pushed:
    """A page written to Marketo, its store part still to do."""

    obj: SyncObject
    pipeline: Pipeline
    plan: Plan
    upserted: Sequence[Outcome]
    deletions: Sequence[Outcome]
    read: int
    oldest_change: str | None
    at: datetime  # when Marketo was written


@dataclass(frozen=True)
class PageResult:
    checkpoint: Checkpoint
    counts: PageCounts
    caught_up: bool  # the stream has nothing more to read now


class PageCopier:
    def __init__(self, store: SyncStore, reader: StreamReader) -> None:
        self.store, self.reader = store, reader

    def push(
        self,
        obj: SyncObject,
        pipeline: Pipeline,
        rows: Sequence[Mapping[str, Any]],
        deleted_ids: Sequence[str],
        *,
        lookups: bool,
    ) -> Pushed:
        """Look up, decide, plan, and write to Marketo: everything but the store's part."""
        refs = [pipeline.ref(pipeline.row_id(row)) for row in rows]
        removed = [pipeline.ref(record_id) for record_id in deleted_ids]
        links: dict[Any, Link] = self.store.links.get_many_by_dynamics([*refs, *removed]) if lookups else {}
        referenced = {ref for row in rows for ref in pipeline.references(row)}
        persons = self.store.links.get_many_by_dynamics(referenced) if referenced else {}
        decisions = [(ref, pipeline.decide(row, persons)) for ref, row in zip(refs, rows, strict=True)]
        plan = plan_page(decisions, removed, links, dict(zip(refs, rows, strict=True)))
        upserted = pipeline.target.upsert(plan.upserts)
        deletions = pipeline.target.remove(plan.removals)
        oldest = min((str(r["modifiedon"]) for r in rows if r.get("modifiedon")), default=None)
        at = datetime.now(UTC)
        return Pushed(obj, pipeline, plan, upserted, deletions, len(rows) + len(deleted_ids), oldest, at)

    def push_by_ids(
        self, obj: SyncObject, pipeline: Pipeline, ids: Sequence[str], known_errors: set[str]
    ) -> PageCounts:
        """Records named by id (failed ones due again, ones a webhook announced), read as they are
        now and pushed like a page; an id no longer in Dynamics is a deletion. Reading the current
        row makes a duplicate, stale or reordered notice harmless: what is in sync writes nothing."""
        rows = self.reader.dataverse.rows.by_ids(pipeline.table, ids, pipeline.select)
        found = {pipeline.row_id(row).lower() for row in rows}
        gone = [i for i in ids if i.lower() not in found]
        return self.settle(self.push(obj, pipeline, rows, gone, lookups=True), known_errors)

    def settle(self, pushed: Pushed, known_errors: set[str]) -> PageCounts:
        """The store's part: links and errors of what was pushed."""
        return self._store(pushed.obj, pushed.pipeline, self._settlement(pushed), pushed, known_errors)

    def _settlement(self, pushed: Pushed) -> Settlement:
        return settlement_of(pushed.plan, pushed.upserted, pushed.deletions, pushed.pipeline, pushed.at)

    def _store(
        self,
        obj: SyncObject,
        pipeline: Pipeline,
        settlement: Settlement,
        pushed: Pushed | None,
        known_errors: set[str],
    ) -> PageCounts:
        counts = store_settlement(self.store, obj, pipeline, settlement, known_errors)
        if pushed is not None:
            counts.read, counts.oldest_change = pushed.read, pushed.oldest_change
        return counts

    def copy_page(self, checkpoint: Checkpoint, pipeline: Pipeline, *, known_errors: set[str]) -> PageResult:
        return next(iter(self.copy_pages(checkpoint, pipeline, known_errors=known_errors, more=lambda: False)))

    def copy_pages(
        self, checkpoint: Checkpoint, pipeline: Pipeline, *, known_errors: set[str], more: Callable[[], bool]
    ) -> Iterator[PageResult]:
        """The stream's pages while `more()` says so and it has any, pipelined: page k+1 is read
        from Dynamics while page k is written to Marketo (a read-ahead thread: reading has no
        effect, so a page read ahead and not used is only a call spent), and written to Marketo
        while page k's links are stored, on one settling thread. Marketo's writes of two pages
        never overlap: a page's new persons are created by email only once the page before it
        has created its own (`person_target.py`), so one email is never created twice. Before
        page k+1 is journaled, page k is stored; before the checkpoint moves past a page, what it
        must leave in the store is in the page journal (sync/store/journal.py). So Marketo's
        calls (the slow, rate-limited part) never wait on the store, and a crash repeats at most
        the page being written (keyed writes: nothing is created twice). A page that leaves nothing
        to store (a quiet delta read, unchanged rows) costs no journal write. The caller recovers
        a journaled page first (`recover`), once per run or copy, not per page."""
        obj = checkpoint.object
        cursor = ObjectCursor.parse(checkpoint.cursor)
        with (
            ThreadPoolExecutor(1, thread_name_prefix="settle") as settler,
            ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader,
        ):
            pending: Future[PageResult] | None = None
            ahead = self._read(reader, pipeline, cursor)
            while True:
                stream = cursor.stream(pipeline.stream)
                page = ahead.result()
                going = not page.caught_up and more()  # asked once a page: `more` may read the store
                if going:
                    ahead = self._read(reader, pipeline, cursor.moved(pipeline.stream, page.cursor))
                lookups = not (cursor.fresh and not stream.complete)
                pushed = self.push(obj, pipeline, page.rows, page.deleted, lookups=lookups)
                settlement = self._settlement(pushed)
                if pending is not None:
                    yield pending.result()  # page k-1 stored (and marked so) before page k is journaled
                if any(f.kind in RUN_STOPPING for f in settlement.failures):
                    self._store(obj, pipeline, settlement, pushed, known_errors)  # raises; the checkpoint stays
                moved = cursor.moved(pipeline.stream, page.cursor)
                journaled = not settlement.empty and self.store.journal.write(
                    obj, pipeline.stream, cursor.dump(), moved.dump(), _dump(settlement)
                )
                if not settlement.empty and not journaled:
                    self._store(obj, pipeline, settlement, pushed, known_errors)  # too large to journal
                totals = _totals(checkpoint, settlement.page_counts(), pushed.read)
                checkpoint = self.store.checkpoints.save(checkpoint.advanced(cursor=moved.dump(), counters=totals))
                cursor = moved
                pending = settler.submit(
                    contextvars.copy_context().run,  # the store's writes count for this run (sync/tally.py)
                    self._store_journaled,
                    checkpoint,
                    pipeline,
                    settlement,
                    pushed,
                    page.caught_up,
                    known_errors,
                    journaled,
                )
                if not going:
                    break
            yield pending.result()

    def _read(self, reader: ThreadPoolExecutor, pipeline: Pipeline, cursor: ObjectCursor) -> Future[StreamPage]:
        """The page after `cursor`, read on the read-ahead thread (its Dataverse calls count for
        this run: the context goes with it)."""
        stream = cursor.stream(pipeline.stream)
        return reader.submit(contextvars.copy_context().run, self.reader.read_page, pipeline, stream)

    def _store_journaled(
        self,
        checkpoint: Checkpoint,
        pipeline: Pipeline,
        settlement: Settlement,
        pushed: Pushed,
        caught_up: bool,
        known_errors: set[str],
        journaled: bool,
    ) -> PageResult:
        counts = self._store(checkpoint.object, pipeline, settlement, pushed, known_errors)
        if journaled:
            self.store.journal.mark_stored(checkpoint.object, pipeline.stream)
        return PageResult(checkpoint, counts, caught_up)

    def _without_ghosts(self, obj: SyncObject, pipeline: Pipeline, settlement: Settlement) -> Settlement:
        """A journaled page's links to persons deleted in Marketo since it was written are not
        stored: the person stream saw the deletion while the link was not yet there to drop, and
        storing it now would link the record to a person that is gone. The record keeps its
        values and gets a new person when it changes (behaviour §7), as if the link had been
        dropped; one Marketo call per 300 links, and only after a crash."""
        written = [link for link in settlement.links if not link.deleted]
        gone = pipeline.target.gone([link.marketo.id for link in written]) if written else set()
        if not gone:
            return settlement
        now = datetime.now(UTC).isoformat()
        for link in written:
            if link.marketo.id in gone:
                detail = {"marketo_id": link.marketo.id, "dropped_at": now}
                self.store.notices.note(PERSON_DELETED, obj, link.dynamics.id, detail)
        kept = [link for link in settlement.links if link.deleted or link.marketo.id not in gone]
        return settlement.model_copy(update={"links": kept})

    def recover(self, checkpoint: Checkpoint, pipeline: Pipeline, known_errors: set[str]) -> Checkpoint:
        """After a crash: store the journaled page that was not (no write to Marketo), and move the
        checkpoint past it when the crash came between the journal and the checkpoint."""
        journaled = self.store.journal.pending(checkpoint.object, pipeline.stream)
        if journaled is None:
            return checkpoint
        settlement = self._without_ghosts(
            checkpoint.object, pipeline, Settlement.model_validate_json(journaled.payload)
        )
        counts = self._store(checkpoint.object, pipeline, settlement, None, known_errors)
        if journaled.before == (checkpoint.cursor or ObjectCursor().dump()):
            totals = _totals(checkpoint, counts, 0)
            checkpoint = self.store.checkpoints.save(checkpoint.advanced(cursor=journaled.after, counters=totals))
        self.store.journal.mark_stored(checkpoint.object, pipeline.stream)
        return checkpoint


def _dump(settlement: Settlement) -> bytes:
    """The journal's copy: without the in-sync ids (a page of echoes would fill it; a recovered
    page leaves their errors to the next retry)."""
    return settlement.model_dump_json(exclude_defaults=True, exclude={"in_sync"}).encode()


def _totals(checkpoint: Checkpoint, counts: PageCounts, read: int) -> dict[str, int]:
    totals = dict(checkpoint.counters)
    totals["read"] = totals.get("read", 0) + read
    for name in ("written", "unchanged", "removed", "failed"):
        totals[name] = totals.get(name, 0) + getattr(counts, name)
    return totals
