"""The sync's Table Storage tables: one service client, prefixed table names, created once."""

from __future__ import annotations

import threading
from collections import Counter
from enum import StrEnum
from typing import Final

from azure.core.credentials import TokenCredential
from azure.data.tables import TableClient, TableServiceClient


class Table(StrEnum):
    CHECKPOINTS = "Checkpoints"
    LEASES = "Leases"
    LINKS = "Links"
    LINKS_BY_MARKETO = "LinksByMarketo"
    ERRORS = "Errors"
    RUNS = "Runs"
    NOTICES = "Notices"
    META = "Meta"


_ENDPOINT_SCHEMES: Final = ("https://", "http://")


def service_client(connection: str, credential: TokenCredential | None = None) -> TableServiceClient:
    """A connection string (keys or SAS), or a table endpoint URL used with an Entra ID identity."""
    if connection.startswith(_ENDPOINT_SCHEMES):
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return TableServiceClient(endpoint=connection, credential=credential)
    return TableServiceClient.from_connection_string(connection)


class StoreTables:
    """Hands out table clients by role; `ensure` creates missing tables (idempotent, run at start).
    Counts the entities written per table: the full copy's store cost is measured, not guessed."""

    def __init__(self, service: TableServiceClient, prefix: str) -> None:
        self._service = service
        self.prefix = prefix
        self._clients = {t: service.get_table_client(self.name_of(t)) for t in Table}
        self.writes: Counter[Table] = Counter()
        self._lock = threading.Lock()

    def wrote(self, table: Table, entities: int = 1) -> None:
        with self._lock:
            self.writes[table] += entities

    def name_of(self, table: Table) -> str:
        return f"{self.prefix}{table.value}"

    def client(self, table: Table) -> TableClient:
        return self._clients[table]

    def ensure(self) -> None:
        for table in Table:
            self._service.create_table_if_not_exists(self.name_of(table))

    def drop_all(self) -> None:
        """Delete every table of this prefix (tests and the demo's reset; never called by the sync)."""
        for table in Table:
            self._service.delete_table(self.name_of(table))
