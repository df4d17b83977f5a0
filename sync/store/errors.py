"""Sync errors: one row per failing record and direction, retried with backoff, parked after N tries.

PartitionKey = object, RowKey = "<direction>~<source record id>": a record that fails again
updates its row (attempts + 1) instead of adding one, and a success deletes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableEntity, UpdateMode
from pydantic import BaseModel, ConfigDict

from sync.objects import Direction, SyncObject
from sync.store.keys import escape_key, unescape_key
from sync.store.limits import check_entity, truncate_text
from sync.store.swap import swap_row
from sync.store.tables import StoreTables, Table
from sync.store.transactions import MAX_OPERATIONS, Delete, submit


class ErrorBackoff(BaseModel):
    """When a failed record is tried again: first_delay x factor^(attempts-1), capped; parked at N."""

    model_config = ConfigDict(frozen=True)

    first_delay_s: float = 60.0
    factor: float = 2.0
    max_delay_s: float = 6 * 3600.0
    park_after: int = 10

    def next_retry(self, attempts: int, now: datetime) -> datetime:
        delay = min(self.first_delay_s * self.factor ** max(attempts - 1, 0), self.max_delay_s)
        return now + timedelta(seconds=delay)


class RecordError(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: SyncObject
    direction: Direction
    record_id: str
    dynamics_id: str | None = None
    marketo_id: str | None = None
    operation: str
    code: str
    message: str
    kind: str = ""  # the failure kind (transient, throttled, quota, auth/config, bad_record, fatal)
    table: str = ""  # the Dynamics table the record belongs to (objects read from several)
    payload: str = ""  # what a retry needs when the source cannot be read again (an engagement row, JSON)
    attempts: int
    first_seen: datetime
    last_seen: datetime
    next_retry_at: datetime
    parked: bool


def _keys(obj: SyncObject, direction: Direction, record_id: str) -> tuple[str, str]:
    return escape_key(obj), f"{direction.value}~{escape_key(record_id)}"


class ErrorStore:
    def __init__(
        self,
        tables: StoreTables,
        backoff: ErrorBackoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tables = tables
        self._table = tables.client(Table.ERRORS)
        self._name = tables.name_of(Table.ERRORS)
        self.backoff = backoff or ErrorBackoff()
        self._clock = clock

    def record_failure(
        self,
        obj: SyncObject,
        direction: Direction,
        record_id: str,
        *,
        operation: str,
        code: str,
        message: str,
        dynamics_id: str | None = None,
        marketo_id: str | None = None,
        kind: str = "",
        table: str = "",
        payload: str = "",
    ) -> RecordError:
        """Add the failure or count one more attempt on it; park it after `backoff.park_after`."""
        pk, rk = _keys(obj, direction, record_id)

        def counted(current: TableEntity | None) -> dict[str, Any]:
            now = self._clock()
            previous: dict[str, Any] = dict(current) if current is not None else {}
            attempts = 1 if current is None else int(current["attempts"]) + 1
            entity: dict[str, Any] = {
                "PartitionKey": pk,
                "RowKey": rk,
                "object": obj.value,
                "direction": direction.value,
                "dynamics_id": dynamics_id or previous.get("dynamics_id"),
                "marketo_id": marketo_id or previous.get("marketo_id"),
                "operation": operation,
                "code": code,
                "message": truncate_text(message),
                "kind": kind,
                "table": table,
                "payload": payload or previous.get("payload", ""),
                "attempts": attempts,
                "first_seen": now if current is None else current["first_seen"],
                "last_seen": now,
                "next_retry_at": self.backoff.next_retry(attempts, now),
                "parked": attempts >= self.backoff.park_after,
            }
            check_entity(self._name, entity)
            return entity

        # a concurrent writer counting an attempt makes us read again and count ours too
        written = swap_row(self._table, pk, rk, counted)
        assert written is not None
        self._tables.wrote(Table.ERRORS)
        return self._from_entity(written)

    def resolve(self, obj: SyncObject, direction: Direction, record_id: str) -> None:
        """The record went through: its error row goes."""
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(*_keys(obj, direction, record_id))

    def resolve_many(self, obj: SyncObject, direction: Direction, record_ids: list[str]) -> None:
        """Records that went through, in batch transactions; pass only ids known to have a row."""
        keys = [_keys(obj, direction, record_id)[1] for record_id in dict.fromkeys(record_ids)]
        for start in range(0, len(keys), MAX_OPERATIONS):
            ops = [Delete(escape_key(obj), rk) for rk in keys[start : start + MAX_OPERATIONS]]
            submit(self._table, ops)
            self._tables.wrote(Table.ERRORS, len(ops))

    def get(self, obj: SyncObject, direction: Direction, record_id: str) -> RecordError | None:
        try:
            return self._from_entity(self._table.get_entity(*_keys(obj, direction, record_id)))
        except ResourceNotFoundError:
            return None

    def list(self, obj: SyncObject | None = None, *, parked: bool | None = None) -> Iterator[RecordError]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if obj is not None:
            clauses.append("PartitionKey eq @pk")
            params["pk"] = escape_key(obj)
        if parked is not None:
            clauses.append("parked eq @parked")
            params["parked"] = parked
        entities = (
            self._table.query_entities(" and ".join(clauses), parameters=params)
            if clauses
            else self._table.list_entities()
        )
        for entity in entities:
            yield self._from_entity(entity)

    def record_ids(self, obj: SyncObject, direction: Direction | None = None) -> set[str]:
        """The records with an error (parked or not): a success of one of them clears it."""
        return {e.record_id for e in self.list(obj) if direction is None or e.direction is direction}

    def due(self, obj: SyncObject) -> Iterator[RecordError]:
        """Unparked errors whose backoff has passed: what the next run should try again."""
        now = self._clock()
        for entity in self._table.query_entities(
            "PartitionKey eq @pk and parked eq false and next_retry_at le @now",
            parameters={"pk": escape_key(obj), "now": now},
        ):
            yield self._from_entity(entity)

    def counts(self, obj: SyncObject) -> tuple[int, int]:
        """(waiting for retry, parked) for one object."""
        summary = self.summary(obj)
        return summary["waiting_retry"], summary["parked"]

    def summary(self, obj: SyncObject) -> dict[str, Any]:
        """Waiting, parked and per failure kind, for one object; reads two columns only."""
        waiting = parked = 0
        by_kind: dict[str, int] = {}
        for entity in self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": escape_key(obj)}, select=["parked", "kind"]
        ):
            if entity.get("parked"):
                parked += 1
            else:
                waiting += 1
            kind = str(entity.get("kind") or "unknown")
            by_kind[kind] = by_kind.get(kind, 0) + 1
        return {"waiting_retry": waiting, "parked": parked, "by_kind": by_kind}

    def request_retry(self, obj: SyncObject | None = None) -> int:
        """Unpark and make due now (the admin's "retry errors"); returns how many rows it touched."""
        now = self._clock()
        touched = 0
        for error in list(self.list(obj)):
            pk, rk = _keys(error.object, error.direction, error.record_id)
            self._table.update_entity(
                {"PartitionKey": pk, "RowKey": rk, "parked": False, "next_retry_at": now},
                mode=UpdateMode.MERGE,
            )
            touched += 1
        return touched

    @staticmethod
    def _from_entity(entity: TableEntity | dict[str, Any]) -> RecordError:
        direction, _, escaped_id = str(entity["RowKey"]).partition("~")
        return RecordError.model_validate({**entity, "direction": direction, "record_id": unescape_key(escaped_id)})
