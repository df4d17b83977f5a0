"""Writing to Dataverse: batched upserts and updates that isolate a failing record instead of
failing the batch, and single updates. Every write names its table by TableDefinition. (The
sync never creates a row without its own key, deletes or qualifies: people do that in Dynamics.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sync.connectors.dataverse import batch
from sync.connectors.dataverse.batch import BatchOperation
from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.dataverse.policy import record_kind
from sync.connectors.http.failures import FailureKind

UPSERT_CHUNK = 500


@dataclass(frozen=True)
class WriteOutcome:
    record_id: str
    ok: bool
    created: bool | None = None
    status: int = 204
    code: str = ""
    message: str = ""

    @property
    def kind(self) -> FailureKind | None:
        """What kind of failure this record met (None when it was written)."""
        return None if self.ok else record_kind(self.status)


class DataverseWriter:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client

    def upsert(self, table: TableDefinition, records: Sequence[tuple[str, dict[str, Any]]]) -> list[WriteOutcome]:
        """(record id, columns) pairs → one outcome each, in order. UpsertMultiple first (one call per
        500); if Dataverse refuses a chunk, that chunk goes again as $batch with continue-on-error so
        only the bad records fail."""
        outcomes: list[WriteOutcome] = []
        for start in range(0, len(records), UPSERT_CHUNK):
            chunk = records[start : start + UPSERT_CHUNK]
            try:
                outcomes += self._upsert_multiple(table, chunk)
            except DataverseError as error:
                if error.retried or record_kind(error.status) is not FailureKind.BAD_RECORD:
                    raise  # the whole call failed (outage, throttling, privileges): not one record's fault
                outcomes += self._isolate(table, chunk)
        return outcomes

    def update_many(self, table: TableDefinition, records: Sequence[tuple[str, dict[str, Any]]]) -> list[WriteOutcome]:
        """Update existing records only (a record deleted meanwhile is not re-created: it fails
        with 404). UpdateMultiple per 500; a refused chunk goes again as $batch PATCHes with
        If-Match: * so only the bad records fail."""
        outcomes: list[WriteOutcome] = []
        for start in range(0, len(records), UPSERT_CHUNK):
            chunk = records[start : start + UPSERT_CHUNK]
            targets = [
                {**columns, table.primary_id: record_id, "@odata.type": f"Microsoft.Dynamics.CRM.{table.logical_name}"}
                for record_id, columns in chunk
            ]
            try:
                self.client.request(
                    "POST", f"{table.entity_set}/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": targets}
                )
                outcomes += [WriteOutcome(record_id, True, False) for record_id, _ in chunk]
            except DataverseError as error:
                if error.retried or record_kind(error.status) is not FailureKind.BAD_RECORD:
                    raise
                outcomes += self._isolate(table, chunk, headers={"If-Match": "*"})
        return outcomes

    def _upsert_multiple(
        self, table: TableDefinition, chunk: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[WriteOutcome]:
        targets = [
            {
                **columns,
                table.primary_id: record_id,
                "@odata.type": f"Microsoft.Dynamics.CRM.{table.logical_name}",
            }
            for record_id, columns in chunk
        ]
        body = self.client.request(
            "POST", f"{table.entity_set}/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets}
        ).json()
        results = body.get("Results") or []
        created = [bool(r.get("RecordCreated")) for r in results] if len(results) == len(chunk) else [None] * len(chunk)
        return [
            WriteOutcome(record_id, True, was_created)
            for (record_id, _), was_created in zip(chunk, created, strict=True)
        ]

    def _isolate(
        self,
        table: TableDefinition,
        chunk: Sequence[tuple[str, dict[str, Any]]],
        headers: dict[str, str] | None = None,
    ) -> list[WriteOutcome]:
        operations = [
            BatchOperation("PATCH", f"{table.entity_set}({record_id})", columns, dict(headers or {}))
            for record_id, columns in chunk
        ]
        answers = batch.run(self.client, operations, continue_on_error=True)
        if len(answers) != len(chunk):
            raise DataverseError(200, "", f"$batch answered {len(answers)} parts for {len(chunk)} operations")
        outcomes = []
        for (record_id, _), answer in zip(chunk, answers, strict=True):
            code, message = answer.error
            outcomes.append(WriteOutcome(record_id, answer.ok, None, answer.status, code, message))
        return outcomes

    def update(
        self, table: TableDefinition, record_id: str, columns: dict[str, Any], *, etag: str | None = None
    ) -> None:
        """Update only (If-Match: *), or only if unchanged since read (If-Match: the row's etag)."""
        self.client.request(
            "PATCH", f"{table.entity_set}({record_id})", json=columns, headers={"If-Match": etag or "*"}
        )
