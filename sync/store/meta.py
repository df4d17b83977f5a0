"""Facts about the deployment the store was written for, one row each: today the Dataverse
organisation its links and checkpoints belong to (a refreshed or re-pointed org is noticed at
start, instead of its delta links failing one table at a time)."""

from __future__ import annotations

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from sync.store.keys import escape_key
from sync.store.tables import StoreTables, Table

_PARTITION = "meta"


class MetaStore:
    def __init__(self, tables: StoreTables) -> None:
        self._tables = tables
        self._table = tables.client(Table.META)

    def get(self, key: str) -> str | None:
        try:
            return str(self._table.get_entity(_PARTITION, escape_key(key))["value"])
        except ResourceNotFoundError:
            return None

    def put(self, key: str, value: str) -> None:
        self._table.upsert_entity(
            {"PartitionKey": _PARTITION, "RowKey": escape_key(key), "value": value}, mode=UpdateMode.REPLACE
        )
        self._tables.wrote(Table.META)
