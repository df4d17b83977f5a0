"""Bulk person import (very large first copies: up to 10 MB of CSV a job instead of 300 persons
a call) and bulk person extract (every person in a window, as CSV).

Each is a set of steps that return at once (start, status, result): a bulk job takes minutes
to hours, and waiting belongs to the caller — a Durable timer between activities, or the CLI
polling with `poll_until` — never a sleep inside one call.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.errors import MarketoFatal

MAX_IMPORT_BYTES: Final = 9 * 1024 * 1024  # Marketo's limit is 10 MB a file
IMPORT_DONE: Final = frozenset({"Complete", "Failed"})
EXTRACT_DONE: Final = frozenset({"Completed", "Failed", "Cancelled"})


@dataclass(frozen=True)
class ImportStatus:
    batch_id: int
    status: str
    processed: int
    failed: int
    warnings: int
    message: str

    @property
    def done(self) -> bool:
        return self.status in IMPORT_DONE


@dataclass(frozen=True)
class ExtractStatus:
    export_id: str
    status: str
    records: int
    file_size: int

    @property
    def done(self) -> bool:
        return self.status in EXTRACT_DONE


def _csv(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else record.get(c) for c in columns])
    return out.getvalue().encode()


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")))) if data else []


class BulkPersonApi:
    def __init__(self, client: MarketoClient) -> None:
        self.client = client

    # import: start_import → import_status (until done) → import_failures

    def start_import(self, records: Sequence[dict[str, Any]], lookup_field: str = "email") -> list[int]:
        """Queue import jobs of at most ~9 MB each; returns their batch ids. No per-row ids come back."""
        columns = sorted({k for r in records for k in r})
        header = len(_csv([], columns))
        batches: list[list[dict[str, Any]]] = [[]]
        size = header
        for record in records:
            row_size = len(_csv([record], columns)) - header
            if batches[-1] and size + row_size > MAX_IMPORT_BYTES:
                batches.append([])
                size = header
            batches[-1].append(record)
            size += row_size
        ids = []
        for batch in (b for b in batches if b):
            envelope = self.client.call(
                "POST",
                "/bulk/v1/leads.json",
                params={"format": "csv", "lookupField": lookup_field},
                files={"file": ("persons.csv", _csv(batch, columns), "text/csv")},
            )
            ids.append(int(envelope.result[0]["batchId"]))
        return ids

    def import_status(self, batch_id: int) -> ImportStatus:
        row = self.client.call("GET", f"/bulk/v1/leads/batch/{int(batch_id)}.json").result[0]
        return ImportStatus(
            int(row["batchId"]),
            str(row["status"]),
            int(row.get("numOfLeadsProcessed", 0)),
            int(row.get("numOfRowsFailed", 0)),
            int(row.get("numOfRowsWithWarning", 0)),
            str(row.get("message", "")),
        )

    def import_failures(self, batch_id: int) -> list[dict[str, str]]:
        """Each failed row with its "Import Failure Reason": these go to the sync-errors table."""
        return _rows(self.client.download(f"/bulk/v1/leads/batch/{int(batch_id)}/failures.json"))

    # extract: start_extract → extract_status (until done) → extract_result

    def start_extract(self, fields: Sequence[str], window_field: str, start: datetime, end: datetime) -> str:
        """Create and enqueue an extract of every person whose createdAt/updatedAt is in [start,
        end) (at most 31 days); returns its export id."""
        body = {
            "fields": list(fields),
            "format": "CSV",
            "filter": {window_field: {"startAt": start.isoformat(), "endAt": end.isoformat()}},
        }
        export_id = str(self.client.call("POST", "/bulk/v1/leads/export/create.json", json=body).result[0]["exportId"])
        self.client.call("POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json")
        return export_id

    def extract_status(self, export_id: str) -> ExtractStatus:
        row = self.client.call("GET", f"/bulk/v1/leads/export/{export_id}/status.json").result[0]
        return ExtractStatus(
            export_id, str(row["status"]), int(row.get("numberOfRecords") or 0), int(row.get("fileSize") or 0)
        )

    def extract_result(self, export_id: str) -> list[dict[str, str]]:
        """The rows of a completed extract; an extract that failed or was cancelled is an error."""
        status = self.extract_status(export_id)
        if status.status != "Completed":
            raise MarketoFatal("export", f"bulk extract {export_id} is {status.status}, not Completed")
        return _rows(self.client.download(f"/bulk/v1/leads/export/{export_id}/file.json"))
