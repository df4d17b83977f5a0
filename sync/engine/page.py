"""One page: the step the full copy (Durable activity or CLI) and every incremental run repeat.

read a page of one stream after its cursor → look up its links and the persons it refers to →
decide and plan (pure) → write to Marketo in full batches → store links and errors → move the
checkpoint (compare-and-swap). The checkpoint moves only after the writes it covers are
durable, so a crash anywhere repeats at most this page, and every write is keyed so that
repeating it creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sync.engine.apply import PageCounts, settle
from sync.engine.cursor import ObjectCursor
from sync.engine.pipelines import Pipeline
from sync.engine.plan import plan_page
from sync.engine.streams import StreamReader
from sync.objects import SyncObject
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint
from sync.store.links import Link


@dataclass(frozen=True)
class PageResult:
    checkpoint: Checkpoint
    counts: PageCounts
    caught_up: bool  # the stream has nothing more to read now


class PageStep:
    def __init__(self, store: SyncStore, reader: StreamReader, keeps_deleted_links: bool) -> None:
        self.store, self.reader, self.keeps_deleted_links = store, reader, keeps_deleted_links

    def process_rows(
        self,
        obj: SyncObject,
        pipeline: Pipeline,
        rows: Sequence[Mapping[str, Any]],
        deleted_ids: Sequence[str],
        *,
        lookups: bool,
        known_errors: set[str],
    ) -> PageCounts:
        refs = [pipeline.ref(pipeline.row_id(row)) for row in rows]
        removed = [pipeline.ref(record_id) for record_id in deleted_ids]
        links: dict[Any, Link] = self.store.links.get_many_by_dynamics([*refs, *removed]) if lookups else {}
        referenced = {ref for row in rows for ref in pipeline.references(row)}
        persons = self.store.links.get_many_by_dynamics(referenced) if referenced else {}
        decisions = [(ref, pipeline.decide(row, persons)) for ref, row in zip(refs, rows, strict=True)]
        plan = plan_page(decisions, removed, links, dict(zip(refs, rows, strict=True)))
        upserted = pipeline.target.upsert(plan.upserts)
        deletions = pipeline.target.remove(plan.removals)
        keeps = self.keeps_deleted_links and pipeline.target.name == "person"
        counts = settle(self.store, obj, pipeline, plan, upserted, deletions, known_errors, keeps)
        counts.read = len(rows) + len(deleted_ids)
        counts.oldest_change = min((str(r["modifiedon"]) for r in rows if r.get("modifiedon")), default=None)
        return counts

    def copy_page(self, checkpoint: Checkpoint, pipeline: Pipeline, *, known_errors: set[str]) -> PageResult:
        cursor = ObjectCursor.parse(checkpoint.cursor)
        stream = cursor.stream(pipeline.stream)
        page = self.reader.read_page(pipeline, stream)
        lookups = not (cursor.fresh and not stream.complete)
        counts = self.process_rows(
            checkpoint.object, pipeline, page.rows, page.deleted, lookups=lookups, known_errors=known_errors
        )
        totals = dict(checkpoint.counters)
        for name in ("read", "written", "unchanged", "removed", "failed"):
            totals[name] = totals.get(name, 0) + getattr(counts, name)
        saved = self.store.checkpoints.save(
            checkpoint.advanced(cursor=cursor.moved(pipeline.stream, page.cursor).dump(), counters=totals)
        )
        return PageResult(saved, counts, page.caught_up)
