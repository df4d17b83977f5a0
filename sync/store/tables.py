"""The sync's Table Storage tables: one service client, prefixed table names, created once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from enum import StrEnum
from typing import Any, Final

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableServiceClient

from sync import tally


class Table(StrEnum):
    CHECKPOINTS = "Checkpoints"
    LEASES = "Leases"
    LINKS = "Links"
    LINKS_BY_MARKETO = "LinksByMarketo"
    ERRORS = "Errors"
    RUNS = "Runs"
    NOTICES = "Notices"
    META = "Meta"
    JOURNAL = "Journal"
    BULK_EMAILS = "BulkEmails"
    INTAKE = "Intake"
    PREVIEWS = "Previews"
    CAMPAIGN_MEMBERS = "CampaignMembers"
    ROLLUPS = "EngagementRollups"


_ENDPOINT_SCHEMES: Final = ("https://", "http://")


class TimedTransport(RequestsTransport):  # type: ignore[misc]  # the SDK exports it lazily, untyped
    """The SDK's own transport, adding up the time spent in Table Storage requests (summed over
    threads) for the benchmarks' time breakdown."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.busy_s = 0.0
        self._busy_lock = threading.Lock()

    def send(self, request: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().send(request, **kwargs)
        finally:
            with self._busy_lock:
                self.busy_s += time.perf_counter() - started


# The SDK's default retries (10, backing off up to 2 minutes) would hold a run for minutes when
# Table Storage is down; a short outage is ridden out (~8 s), a longer one fails the run, which
# loses nothing (the checkpoint moves only after its page is stored) and the next run resumes.
STORE_RETRY: Final[dict[str, Any]] = {
    "retry_total": 4,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 4,
    "connection_timeout": 10,
    "read_timeout": 30,
}


def service_client(
    connection: str, credential: TokenCredential | None = None, transport: TimedTransport | None = None
) -> TableServiceClient:
    """A connection string (keys or SAS), or a table endpoint URL used with an Entra ID identity."""
    extra: dict[str, Any] = {**STORE_RETRY, **({"transport": transport} if transport is not None else {})}
    if connection.startswith(_ENDPOINT_SCHEMES):
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return TableServiceClient(endpoint=connection, credential=credential, **extra)
    return TableServiceClient.from_connection_string(connection, **extra)


class StoreTables:
    """Hands out table clients by role; `ensure` creates missing tables (idempotent, run at start).
    Counts the entities written per table: the full copy's store cost is measured, not guessed."""

    def __init__(self, service: TableServiceClient, prefix: str, transport: TimedTransport | None = None) -> None:
        self._service = service
        self.transport = transport
        self.prefix = prefix
        self._clients = {t: service.get_table_client(self.name_of(t)) for t in Table}
        self.writes: Counter[Table] = Counter()
        self._lock = threading.Lock()

    def wrote(self, table: Table, entities: int = 1) -> None:
        with self._lock:
            self.writes[table] += entities
        tally.count("store_writes", entities)

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
