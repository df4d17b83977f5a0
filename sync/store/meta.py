"""Facts about the deployment the store was written for, one row each: today the Dataverse
organisation its links and checkpoints belong to (a refreshed or re-pointed org is noticed at
start, instead of its delta links failing one table at a time)."""

from __future__ import annotations

import contextlib

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from sync.store.keys import escape_key, unescape_key
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

    def items(self, prefix: str) -> dict[str, str]:
        """Every fact whose key starts with `prefix` (one partition query)."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": _PARTITION})
        return {k: str(r["value"]) for r in rows if (k := unescape_key(r["RowKey"])).startswith(prefix)}

    def delete(self, key: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(_PARTITION, escape_key(key))
            self._tables.wrote(Table.META)

    def put(self, key: str, value: str) -> None:
        self._table.upsert_entity(
            {"PartitionKey": _PARTITION, "RowKey": escape_key(key), "value": value}, mode=UpdateMode.REPLACE
        )
        self._tables.wrote(Table.META)
