"""One page at a time: what the full copy (Durable activity or CLI) and every incremental run repeat.

read a page of one stream after its cursor → look up its links and the persons it refers to →
decide and plan (pure) → write to Marketo in full batches → store links and errors → move the
checkpoint (compare-and-swap). The checkpoint moves only once what the page must store is
durable (stored, or journaled: sync/store/journal.py), so a crash anywhere repeats at most the
page being written, and every write is keyed so that repeating it creates nothing twice.
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

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

WRITES_IN_FLIGHT: Final = 2  # pages whose writes to Marketo are under way at once (one queued behind the other)


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
class Prepared:
    """A page planned, not yet written to Marketo."""

    obj: SyncObject
    pipeline: Pipeline
    plan: Plan
    read: int
    oldest: str | None
    keys: frozenset[object]  # the records, emails and persons its writes touch


@dataclass(frozen=True)
class _Staged:
    """A page whose writes are under way."""

    before: ObjectCursor
    after: ObjectCursor
    page: StreamPage
    keys: frozenset[object]
    written: Future[Pushed]

    def shares(self, prepared: Prepared) -> bool:
        return not self.keys.isdisjoint(prepared.keys)


@dataclass
class _Settled:
    """Where the pages settled so far left the checkpoint, and the last page's store part."""

    checkpoint: Checkpoint
    pending: Future[PageResult] | None = None


@dataclass(frozen=True)
class PageResult:
    checkpoint: Checkpoint
    counts: PageCounts
    caught_up: bool  # the stream has nothing more to read now


class PageCopier:
    def __init__(self, store: SyncStore, reader: StreamReader) -> None:
        self.store, self.reader = store, reader

    def prepare(
        self,
        obj: SyncObject,
        pipeline: Pipeline,
        rows: Sequence[Mapping[str, Any]],
        deleted_ids: Sequence[str],
        *,
        lookups: bool,
    ) -> Prepared:
        """Look up, decide and plan: what `write` sends, with no call to Marketo."""
        refs = [pipeline.ref(pipeline.row_id(row)) for row in rows]
        removed = [pipeline.ref(record_id) for record_id in deleted_ids]
        links: dict[Any, Link] = self.store.links.get_many_by_dynamics([*refs, *removed]) if lookups else {}
        referenced = {ref for row in rows for ref in pipeline.references(row)}
        persons = self.store.links.get_many_by_dynamics(referenced) if referenced else {}
        decisions = [(ref, pipeline.decide(row, persons)) for ref, row in zip(refs, rows, strict=True)]
        plan = plan_page(decisions, removed, links, dict(zip(refs, rows, strict=True)))
        oldest = min((str(r["modifiedon"]) for r in rows if r.get("modifiedon")), default=None)
        return Prepared(obj, pipeline, plan, len(rows) + len(deleted_ids), oldest, _keys(plan, [*refs, *removed]))

    def write(self, prepared: Prepared) -> Pushed:
        """Write a prepared page to Marketo: everything but the store's part."""
        plan, target = prepared.plan, prepared.pipeline.target
        upserted = target.upsert(plan.upserts)
        deletions = target.remove(plan.removals)
        at = datetime.now(UTC)
        return Pushed(prepared.obj, prepared.pipeline, plan, upserted, deletions, prepared.read, prepared.oldest, at)

    def push_by_ids(
        self, obj: SyncObject, pipeline: Pipeline, ids: Sequence[str], known_errors: set[str]
    ) -> PageCounts:
        """Records named by id (failed ones due again, ones a webhook announced), read as they are
        now and pushed like a page; an id no longer in Dynamics is a deletion. Reading the current
        row makes a duplicate, stale or reordered notice harmless: what is in sync writes nothing."""
        rows = self.reader.dataverse.rows.by_ids(pipeline.table, ids, pipeline.select)
        found = {pipeline.row_id(row).lower() for row in rows}
        gone = [i for i in ids if i.lower() not in found]
        return self.settle(self.write(self.prepare(obj, pipeline, rows, gone, lookups=True)), known_errors)

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
        """The stream's pages while `more()` says so and it has any, pipelined three ways:
        - page k+1 is read from Dynamics and planned on a read-ahead thread while page k is
          written (reading and planning have no effect: a page staged and not used is a read spent);
        - page k+1's writes to Marketo are queued behind page k's (`WRITES_IN_FLIGHT` pages), so
          Marketo's slots never idle between pages; never when the two share a record, an email or
          a person (`Prepared.keys`): a new person is created by email once (`person_target.py`);
        - a page's links are stored on one settling thread while the next pages are written.
        Pages settle in order: before page k+1 is journaled, page k is stored; before the
        checkpoint moves past a page, what it must leave in the store is in the page journal
        (sync/store/journal.py). So Marketo's calls (the slow, rate-limited part) never wait on
        the store, and a crash repeats at most the pages being written (keyed writes: nothing is
        created twice). A page that leaves nothing to store (a quiet delta read, unchanged rows)
        costs no journal write. The caller recovers a journaled page first (`recover`), once per
        run or copy, not per page."""
        cursor = ObjectCursor.parse(checkpoint.cursor)
        flight: deque[_Staged] = deque()
        settled = _Settled(checkpoint)
        with (
            ThreadPoolExecutor(1, thread_name_prefix="settle") as settler,
            ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader,
            ThreadPoolExecutor(WRITES_IN_FLIGHT, thread_name_prefix="write") as writer,
        ):
            ahead = self._stage(reader, checkpoint.object, pipeline, cursor)
            going = True
            while going:
                page, prepared = ahead.result()
                after = cursor.moved(pipeline.stream, page.cursor)
                going = not page.caught_up and more()  # asked once a page: `more` may read the store
                if going:
                    ahead = self._stage(reader, checkpoint.object, pipeline, after)
                while flight and (len(flight) >= WRITES_IN_FLIGHT or any(s.shares(prepared) for s in flight)):
                    yield from self._settle(flight.popleft(), settled, settler, known_errors)
                written = writer.submit(contextvars.copy_context().run, self.write, prepared)
                flight.append(_Staged(cursor, after, page, prepared.keys, written))
                cursor = after
            while flight:
                yield from self._settle(flight.popleft(), settled, settler, known_errors)
            if settled.pending is not None:
                yield settled.pending.result()

    def _stage(
        self, reader: ThreadPoolExecutor, obj: SyncObject, pipeline: Pipeline, cursor: ObjectCursor
    ) -> Future[tuple[StreamPage, Prepared]]:
        """The page after `cursor`, read and planned on the read-ahead thread (its calls count for
        this run: the context goes with it)."""

        def stage() -> tuple[StreamPage, Prepared]:
            stream = cursor.stream(pipeline.stream)
            page = self.reader.read_page(pipeline, stream)
            lookups = not (cursor.fresh and not stream.complete)
            return page, self.prepare(obj, pipeline, page.rows, page.deleted, lookups=lookups)

        return reader.submit(contextvars.copy_context().run, stage)

    def _settle(
        self, staged: _Staged, settled: _Settled, settler: ThreadPoolExecutor, known_errors: set[str]
    ) -> Iterator[PageResult]:
        """A written page, in order: the page before it stored, this one journaled, the
        checkpoint past it, its store part handed to the settling thread."""
        pushed = staged.written.result()
        obj, pipeline = pushed.obj, pushed.pipeline
        settlement = self._settlement(pushed)
        if settled.pending is not None:
            yield settled.pending.result()  # page k-1 stored (and marked so) before page k is journaled
            settled.pending = None
        if any(f.kind in RUN_STOPPING for f in settlement.failures):
            self._store(obj, pipeline, settlement, pushed, known_errors)  # raises; the checkpoint stays
        journaled = not settlement.empty and self.store.journal.write(
            obj, pipeline.stream, staged.before.dump(), staged.after.dump(), _dump(settlement)
        )
        if not settlement.empty and not journaled:
            self._store(obj, pipeline, settlement, pushed, known_errors)  # too large to journal
        totals = _totals(settled.checkpoint, settlement.page_counts(), pushed.read)
        checkpoint = self.store.checkpoints.save(
            settled.checkpoint.advanced(cursor=staged.after.dump(), counters=totals)
        )
        settled.checkpoint = checkpoint
        settled.pending = settler.submit(
            contextvars.copy_context().run,  # the store's writes count for this run (sync/tally.py)
            self._store_journaled,
            checkpoint,
            pipeline,
            settlement,
            pushed,
            staged.page.caught_up,
            known_errors,
            journaled,
        )

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


def _keys(plan: Plan, refs: Sequence[Any]) -> frozenset[object]:
    """What a page's writes touch: its records, the emails of its upserts, the persons they update
    or take over. Two pages sharing one are written one after the other."""
    keys: set[object] = set(refs)
    for upsert in plan.upserts:
        if email := upsert.values.get("email"):
            keys.add(("email", str(email).casefold()))
        for link in (upsert.link, upsert.takes_over):
            if link is not None:
                keys.add(("person", link.marketo.id))
    return frozenset(keys)


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
