"""Checkpoints: where each object and direction stands, moved only by compare-and-swap.

One row per (object, direction): PartitionKey = object, RowKey = direction. A writer that read
a stale row gets `CheckpointConflict` instead of overwriting a newer position, so two runs can
never move one checkpoint backwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from pydantic import BaseModel, ConfigDict, Field

from sync.objects import Direction, SyncObject
from sync.store.keys import escape_key
from sync.store.limits import check_entity
from sync.store.tables import StoreTables, Table


class Phase(StrEnum):
    FULL_COPY = "full_copy"
    INCREMENTAL = "incremental"


class CheckpointConflict(Exception):
    """Someone else moved this checkpoint since it was read; re-read and decide again."""


class Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: SyncObject
    direction: Direction
    phase: Phase
    cursor: str | None = None
    counters: dict[str, int] = Field(default_factory=dict)
    updated_at: datetime | None = None
    etag: str | None = None

    def advanced(self, **changes: Any) -> Checkpoint:
        return self.model_copy(update=changes)


class CheckpointStore:
    def __init__(self, tables: StoreTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._table = tables.client(Table.CHECKPOINTS)
        self._name = tables.name_of(Table.CHECKPOINTS)
        self._clock = clock

    def get(self, obj: SyncObject, direction: Direction) -> Checkpoint | None:
        try:
            entity = self._table.get_entity(escape_key(obj), direction.value)
        except ResourceNotFoundError:
            return None
        return self._from_entity(entity)

    def list(self) -> list[Checkpoint]:
        return [self._from_entity(e) for e in self._table.list_entities()]

    def save(self, checkpoint: Checkpoint) -> Checkpoint:
        """Create when `etag` is None, else replace only if unchanged since read; returns the new row."""
        now = self._clock()
        entity = {
            "PartitionKey": escape_key(checkpoint.object),
            "RowKey": checkpoint.direction.value,
            "object": checkpoint.object.value,
            "phase": checkpoint.phase.value,
            "cursor": checkpoint.cursor,
            "counters": json.dumps(checkpoint.counters, sort_keys=True),
            "updated_at": now,
        }
        check_entity(self._name, entity)
        try:
            if checkpoint.etag is None:
                meta = self._table.create_entity(entity)
            else:
                meta = self._table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=checkpoint.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise CheckpointConflict(
                f"checkpoint {checkpoint.object}/{checkpoint.direction.value} changed since it was read"
            ) from exc
        self._tables.wrote(Table.CHECKPOINTS)
        return checkpoint.model_copy(update={"updated_at": now, "etag": meta["etag"]})

    @staticmethod
    def _from_entity(entity: TableEntity) -> Checkpoint:
        return Checkpoint(
            object=entity["object"],
            direction=Direction(entity["RowKey"]),
            phase=Phase(entity["phase"]),
            cursor=entity.get("cursor"),
            counters=json.loads(entity.get("counters") or "{}"),
            updated_at=entity.get("updated_at"),
            etag=entity.metadata["etag"],
        )
