"""Notices: things an admin should know that are not failures: emails that several Dynamics
records share, each of which got its own Marketo person (behaviour §4); rows a bulk import took
with a warning (docs/bulk-copy.md).

PartitionKey = "<kind>~<object>", RowKey = the escaped subject (the email), so a notice seen
again is one row updated, and `status` lists an object's notices with one partition query.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from azure.data.tables import UpdateMode
from pydantic import BaseModel, ConfigDict

from sync.objects import SyncObject
from sync.store.keys import escape_key, unescape_key
from sync.store.limits import check_entity
from sync.store.tables import StoreTables, Table

SHARED_EMAIL: Final = "shared_email"
BULK_WARNING: Final = "bulk_warning"
PERSON_DELETED: Final = "person_deleted"  # a linked person deleted in Marketo: its link dropped


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    object: SyncObject
    subject: str
    detail: dict[str, Any]
    seen_at: datetime


class NoticeStore:
    def __init__(self, tables: StoreTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._table = tables.client(Table.NOTICES)
        self._name = tables.name_of(Table.NOTICES)
        self._clock = clock

    def note(self, kind: str, obj: SyncObject, subject: str, detail: dict[str, Any]) -> None:
        entity = {
            "PartitionKey": f"{kind}~{escape_key(obj)}",
            "RowKey": escape_key(subject.casefold()),
            "subject": subject,
            "detail": json.dumps(detail, sort_keys=True),
            "seen_at": self._clock(),
        }
        check_entity(self._name, entity)
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        self._tables.wrote(Table.NOTICES)

    def list(self, kind: str, obj: SyncObject, limit: int = 50) -> list[Notice]:
        pages = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": f"{kind}~{escape_key(obj)}"}, results_per_page=limit
        ).by_page()
        return [
            Notice(
                kind=kind,
                object=obj,
                subject=str(e.get("subject") or unescape_key(e["RowKey"])),
                detail=json.loads(e.get("detail") or "{}"),
                seen_at=e["seen_at"],
            )
            for e in list(next(pages, []))[:limit]
        ]
