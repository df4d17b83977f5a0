"""The previews of a first copy (`sync/engine/preview.py`): the last one of each object, the only
thing a preview writes. A row per object (PartitionKey "preview", RowKey the object): `state`
running, done or failed (with the reason), the report as JSON, and when it started and ended — so
the preview page says what is being previewed, what was found, or why it could not be."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from azure.data.tables import UpdateMode

from sync.store.limits import check_entity
from sync.store.tables import StoreTables, Table

_PARTITION: Final = "preview"


class PreviewState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class StoredPreview:
    object: str
    state: PreviewState
    started_at: datetime
    ended_at: datetime | None
    report: dict[str, Any] | None  # ObjectPreview.as_json()
    message: str = ""  # why it failed


class PreviewStore:
    def __init__(self, tables: StoreTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._table = tables.client(Table.PREVIEWS)
        self._name = tables.name_of(Table.PREVIEWS)
        self._clock = clock

    def begin(self, obj: str) -> None:
        self._put({"RowKey": obj, "state": PreviewState.RUNNING.value, "started_at": self._clock()})

    def finish(self, obj: str, report: dict[str, Any], started_at: datetime) -> None:
        self._put(
            {
                "RowKey": obj,
                "state": PreviewState.DONE.value,
                "started_at": started_at,
                "ended_at": self._clock(),
                "report": json.dumps(report, sort_keys=True),
            }
        )

    def fail(self, obj: str, message: str, started_at: datetime) -> None:
        self._put(
            {
                "RowKey": obj,
                "state": PreviewState.FAILED.value,
                "started_at": started_at,
                "ended_at": self._clock(),
                "message": message[:2000],
            }
        )

    def latest(self) -> list[StoredPreview]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": _PARTITION})
        return [
            StoredPreview(
                object=str(r["RowKey"]),
                state=PreviewState(str(r["state"])),
                started_at=r["started_at"],
                ended_at=r.get("ended_at"),
                report=json.loads(r["report"]) if r.get("report") else None,
                message=str(r.get("message") or ""),
            )
            for r in rows
        ]

    def _put(self, entity: dict[str, Any]) -> None:
        entity = {"PartitionKey": _PARTITION, **entity}
        check_entity(self._name, entity)
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        self._tables.wrote(Table.PREVIEWS)
