"""Resync a field (behaviour §8): push one mapped field, for every linked record of an object, from
Dynamics to Marketo — typically just after the field was added to the mapping.

A page is 300 links (one Marketo call, eight Dataverse reads of 40 ids); the cursor is the
store's position among the links, so the orchestration or the CLI can stop and resume. Persons
are updated by their Marketo id and their link's base learns the value (the next merge sees no
change); other objects by their external id, update only (a record Marketo no longer has is
not created again by a resync).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from sync.connectors.marketo.lanes import Lane, in_lane
from sync.engine.pipelines import Pipeline
from sync.engine.runtime import Engine
from sync.mapping.records import dynamics_value
from sync.mapping.resolve import FieldMapping, TableMapping
from sync.mapping.transforms import TransformError, to_marketo
from sync.objects import SyncObject
from sync.store.links import Link

PAGE: int = 300


@runtime_checkable
class Updating(Protocol):
    def update(self, records: Sequence[tuple[Link, dict[str, Any]]]) -> list[bool]: ...


class ResyncError(ValueError):
    """The field cannot be resynced; the message says why."""


@dataclass(frozen=True)
class ResyncPage:
    read: int
    written: int
    failed: int
    cursor: str | None  # where the next page starts; None when every link has been visited


def _mapping_of(engine: Engine, pipeline: Pipeline) -> TableMapping | None:
    custom = next((c.mapping for c in engine.mapping.custom if c.mapping.table == pipeline.stream), None)
    return custom or engine.mapping.tables.get(pipeline.stream)


def resync_target(engine: Engine, obj: SyncObject, name: str) -> tuple[Pipeline, FieldMapping]:
    """The pipeline and field a resync of `name` (a Marketo field or a Dynamics column) writes."""
    for pipeline in engine.pipelines[obj]:
        mapping = _mapping_of(engine, pipeline)
        fields = mapping.fields if mapping is not None else ()
        for field in fields:
            if name in (field.marketo, field.dynamics) and field.direction.to_marketo:
                if not isinstance(pipeline.target, Updating):
                    break
                return pipeline, field
    raise ResyncError(f"{obj.value} has no mapped field {name!r} that flows to Marketo and can be resynced")


def resync_page(engine: Engine, obj: SyncObject, name: str, cursor: str | None) -> ResyncPage:
    """One page of links, in the backfill lane (a resync goes after incremental work)."""
    with in_lane(Lane.BACKFILL, obj.value):
        return _resync_page(engine, obj, name, cursor)


def _resync_page(engine: Engine, obj: SyncObject, name: str, cursor: str | None) -> ResyncPage:
    pipeline, field = resync_target(engine, obj, name)
    links, following = engine.store.links.page_table(pipeline.stream, cursor, PAGE)
    live = [link for link in links if not (link.deleted or link.filtered or link.qualified_into or link.pending)]
    rows = engine.dataverse.rows.by_ids(pipeline.table, [link.dynamics.id for link in live], [field.property_name])
    by_id = {pipeline.row_id(row).lower(): row for row in rows}
    records: list[tuple[Link, Any]] = []
    failed = 0
    for link in live:
        row = by_id.get(link.dynamics.id)
        if row is None:
            continue  # deleted meanwhile: the next run carries the deletion
        try:
            records.append((link, to_marketo(dynamics_value(row, field), field.spec)))
        except TransformError:
            failed += 1
    written, refused = _push(engine, pipeline, field, records)
    return ResyncPage(len(links), written, failed + refused, following)


def _push(engine: Engine, pipeline: Pipeline, field: FieldMapping, records: list[tuple[Link, Any]]) -> tuple[int, int]:
    if not records:
        return 0, 0
    target = pipeline.target
    assert isinstance(target, Updating)
    done = target.update([(link, {field.marketo: value}) for link, value in records])
    if pipeline.keeps_synced:  # persons: the base of the next merge learns the value
        learned = [
            link.model_copy(update={"synced": {**link.synced, field.marketo: value}, "pushed_at": datetime.now(UTC)})
            for (link, value), ok in zip(records, done, strict=True)
            if ok
        ]
        engine.store.links.upsert_many(learned, index=False)
    written = sum(done)
    return written, len(done) - written
