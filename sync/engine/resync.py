"""Resync fields (behaviour §8) and Quick Sync: push mapped fields from Dynamics to Marketo for
every linked record of an object — typically just after a field was added to the mapping — or,
like the native sync's Quick Sync, only for the records created or modified in Dynamics since a
moment. Values are written as they are, empty ones too: a field empty in Dynamics is cleared in
Marketo.

Every field goes in the same write, so several fields cost the Marketo calls of one: a call per
300 records. Without a window a page is 300 links (eight Dataverse reads of 40 ids) and the
cursor is the store's position among them; with one, a page is 300 rows of Dataverse's filtered
read (`createdon` / `modifiedon`), the cursor its next link, and only linked records among them
are written. Either way the orchestration or the CLI can stop and resume. Persons are updated by
their Marketo id and their link's base learns the values (the next merge sees no change); other
objects by their external id, update only (a record Marketo no longer has is not created again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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


class ResyncRequest(BaseModel):
    """Which fields of which object, and for which records: all linked ones, or those created or
    modified in Dynamics since a moment (both given: both must hold)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    object: SyncObject
    fields: tuple[str, ...] = Field(min_length=1)
    created_since: AwareDatetime | None = None
    modified_since: AwareDatetime | None = None

    def window(self) -> str | None:
        """The Dataverse filter of the records in range; None: every linked record."""
        bounds = [
            f"{column} ge {moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            for column, moment in (("createdon", self.created_since), ("modifiedon", self.modified_since))
            if moment is not None
        ]
        return " and ".join(bounds) or None

    def instance(self) -> str:
        """The Durable instance id: one resync of the same request at a time."""
        digest = hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]
        return f"resync-{self.object.value}-{digest}"

    def label(self, names: Sequence[str]) -> str:
        """`names` (the fields' Marketo names), of the object, and the window if any."""
        window = " and ".join(
            f"{what} since {moment.isoformat(timespec='seconds')}"
            for what, moment in (("created", self.created_since), ("modified", self.modified_since))
            if moment is not None
        )
        return f"{self.object.value} {', '.join(names)}" + (f" ({window})" if window else "")


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


def resync_targets(engine: Engine, request: ResyncRequest) -> tuple[Pipeline, list[FieldMapping]]:
    """The pipeline and fields a resync writes: every field named must be of the same table."""
    found = [resync_target(engine, request.object, name) for name in dict.fromkeys(request.fields)]
    tables = {pipeline.stream for pipeline, _ in found}
    if len(tables) > 1:
        named = ", ".join(f"{field.marketo} ({pipeline.stream})" for pipeline, field in found)
        raise ResyncError(f"the fields are of different tables ({named}): resync each table's fields on their own")
    return found[0][0], [field for _, field in found]


def resync_total(engine: Engine, request: ResyncRequest) -> int | None:
    """What a resync will visit, for its progress and ETA: the table's rows (a snapshot up to a day
    old; about its links) or the window's (exact up to the 5,000 Dataverse counts; else unknown)."""
    pipeline, _ = resync_targets(engine, request)
    window = request.window()
    if window is None:
        return engine.dataverse.metadata.record_counts([pipeline.table.logical_name]).get(pipeline.table.logical_name)
    return engine.dataverse.rows.count_where(pipeline.table, window)


def resync_page(engine: Engine, request: ResyncRequest, cursor: str | None) -> ResyncPage:
    """One page, in the backfill lane (a resync goes after incremental work)."""
    with in_lane(Lane.BACKFILL, request.object.value):
        return _resync_page(engine, request, cursor)


def _live(link: Link) -> bool:
    return not (link.deleted or link.filtered or link.qualified_into or link.pending)


def _resync_page(engine: Engine, request: ResyncRequest, cursor: str | None) -> ResyncPage:
    pipeline, fields = resync_targets(engine, request)
    select = [field.property_name for field in fields]
    window = request.window()
    if window is None:
        links, following = engine.store.links.page_table(pipeline.stream, cursor, PAGE)
        live = [link for link in links if _live(link)]
        rows = engine.dataverse.rows.by_ids(pipeline.table, [link.dynamics.id for link in live], select)
        read = len(links)
    else:
        rows, following = engine.dataverse.rows.page_where(pipeline.table, window, select, cursor, PAGE)
        found = engine.store.links.get_many_by_dynamics([pipeline.ref(pipeline.row_id(row)) for row in rows])
        live = [link for link in found.values() if _live(link)]  # a record never linked is the sync's to copy
        read = len(rows)
    by_id = {pipeline.row_id(row).lower(): row for row in rows}
    records: list[tuple[Link, dict[str, Any]]] = []
    failed = 0
    for link in live:
        row = by_id.get(link.dynamics.id)
        if row is None:
            continue  # deleted meanwhile: the next run carries the deletion
        try:
            records.append((link, {f.marketo: to_marketo(dynamics_value(row, f), f.spec) for f in fields}))
        except TransformError:
            failed += 1
    written, refused = _push(engine, pipeline, records)
    return ResyncPage(read, written, failed + refused, following)


def _push(engine: Engine, pipeline: Pipeline, records: list[tuple[Link, dict[str, Any]]]) -> tuple[int, int]:
    if not records:
        return 0, 0
    target = pipeline.target
    assert isinstance(target, Updating)
    done = target.update(records)
    if pipeline.keeps_synced:  # persons: the base of the next merge learns the values
        now = datetime.now(UTC)
        learned = [
            link.model_copy(update={"synced": {**link.synced, **values}, "pushed_at": now})
            for (link, values), ok in zip(records, done, strict=True)
            if ok
        ]
        engine.store.links.upsert_many(learned, index=False)
    written = sum(done)
    return written, len(done) - written
