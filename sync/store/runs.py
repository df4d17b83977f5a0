"""Run history: one row per run of one object and direction, newest first.

PartitionKey = "<object>~<direction>"; RowKey = inverted start time + run id, so a plain
partition query returns the newest runs first and `recent(n)` reads n rows, not the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Final

from azure.data.tables import TableEntity, UpdateMode
from pydantic import BaseModel, ConfigDict

from sync.objects import Direction, SyncObject
from sync.store.keys import escape_key
from sync.store.limits import check_entity, truncate_text
from sync.store.tables import StoreTables, Table

_MAX_TICKS: Final = 10**19 - 1


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # e.g. the object is still in its full copy, or another run holds the lease
    RUNNING = "running"  # recorded at start; replaced when the run ends


class RunKind(StrEnum):
    INCREMENTAL = "incremental"  # a timer's (or `run`'s) run
    FULL_COPY = "full_copy"  # a stretch of the first copy: a Durable activity's pages, or a CLI copy


class RunRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    object: SyncObject
    direction: Direction
    kind: RunKind = RunKind.INCREMENTAL
    started_at: datetime
    ended_at: datetime | None = None
    outcome: RunOutcome
    read: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    api_calls: int = 0
    marketo_calls: int = 0
    dataverse_calls: int = 0
    store_writes: int = 0  # Table Storage entities the run wrote (links, errors, checkpoints, lease)
    lag_seconds: float | None = None
    message: str = ""
    failure_kind: str = ""  # why a failed run failed: transient, throttled, quota, auth/config, fatal


def _partition(obj: SyncObject, direction: Direction) -> str:
    return f"{escape_key(obj)}~{direction.value}"


def _row(started_at: datetime, run_id: str) -> str:
    ticks = int(started_at.timestamp() * 1_000_000)
    return f"{_MAX_TICKS - ticks:019d}~{escape_key(run_id)}"


class RunStore:
    def __init__(self, tables: StoreTables) -> None:
        self._tables = tables
        self._table = tables.client(Table.RUNS)
        self._name = tables.name_of(Table.RUNS)

    def record(self, run: RunRecord) -> None:
        """Insert or replace (a run is recorded when it starts and again when it ends)."""
        entity = {
            "PartitionKey": _partition(run.object, run.direction),
            "RowKey": _row(run.started_at, run.run_id),
            **run.model_dump(mode="python", exclude={"object", "direction"}),
            "object": run.object.value,
            "direction": run.direction.value,
            "outcome": run.outcome.value,
            "kind": run.kind.value,
            "message": truncate_text(run.message),
        }
        entity = {k: v for k, v in entity.items() if v is not None}
        check_entity(self._name, entity)
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        self._tables.wrote(Table.RUNS)

    def recent(self, obj: SyncObject, direction: Direction, limit: int = 20) -> list[RunRecord]:
        pages = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": _partition(obj, direction)}, results_per_page=limit
        ).by_page()
        first_page: list[TableEntity] = list(next(pages, []))
        return [self._from_entity(e) for e in first_page[:limit]]

    def since(self, obj: SyncObject, direction: Direction, start: datetime) -> Iterator[RunRecord]:
        """Runs that started at or after `start`, newest first (last-hour throughput on the status page)."""
        upper = _row(start, "\U0010ffff")
        for entity in self._table.query_entities(
            "PartitionKey eq @pk and RowKey le @upper",
            parameters={"pk": _partition(obj, direction), "upper": upper},
        ):
            yield self._from_entity(entity)

    @staticmethod
    def _from_entity(entity: TableEntity) -> RunRecord:
        return RunRecord.model_validate(dict(entity))
