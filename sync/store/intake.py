"""What the change routes heard today: notices queued, and requests turned away (a wrong key, a
bad or oversized body, an unknown table), with the last reason each. The status page shows them:
a webhook that stopped authenticating, or a registration that sends the wrong shape, is seen
there instead of as changes that quietly arrive a minute later, by the timers.

PartitionKey = the UTC day, RowKey = "<route>~<outcome>"; a count is a read and an ETag-checked
write, tried again when another worker wrote in between, so concurrent requests lose no count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from sync.store.limits import truncate_text
from sync.store.tables import StoreTables, Table

ATTEMPTS: Final = 8


class Outcome(StrEnum):
    QUEUED = "queued"
    BAD_KEY = "bad_key"  # 401
    BAD_BODY = "bad_body"  # 400
    TOO_LARGE = "too_large"  # 413
    IGNORED = "ignored"  # 200, nothing queued: a table or message the sync does not follow


@dataclass(frozen=True)
class Tally:
    route: str
    outcome: Outcome
    count: int
    last_reason: str
    last_at: datetime


class IntakeStore:
    def __init__(self, tables: StoreTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._table = tables.client(Table.INTAKE)
        self._clock = clock

    def count(self, route: str, outcome: Outcome, reason: str = "", by: int = 1) -> None:
        now = self._clock()
        key = {"PartitionKey": now.date().isoformat(), "RowKey": f"{route}~{outcome.value}"}
        fields = {"last_reason": truncate_text(reason, 500), "last_at": now}
        for _ in range(ATTEMPTS):
            try:
                row = self._table.get_entity(key["PartitionKey"], key["RowKey"])
            except ResourceNotFoundError:
                try:
                    self._table.create_entity({**key, **fields, "count": by})
                    break
                except ResourceExistsError:
                    continue
            try:
                self._table.update_entity(
                    {**key, **fields, "count": int(row["count"]) + by},
                    mode=UpdateMode.REPLACE,
                    etag=row.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
                break
            except ResourceModifiedError:
                continue
        self._tables.wrote(Table.INTAKE)

    def today(self) -> list[Tally]:
        day = self._clock().date().isoformat()
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": day})
        tallies = []
        for row in rows:
            route, _, outcome = str(row["RowKey"]).partition("~")
            tallies.append(Tally(route, Outcome(outcome), int(row["count"]), str(row["last_reason"]), row["last_at"]))
        return sorted(tallies, key=lambda t: (t.route, t.outcome.value))
