"""Bulk lead import (for very large first copies: up to 10 MB of CSV a job instead of 300
persons a call) and bulk lead extract (every person in a window, as CSV)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.errors import MarketoFatal

MAX_IMPORT_BYTES: Final = 9 * 1024 * 1024  # Marketo's limit is 10 MB a file
IMPORT_DONE: Final = frozenset({"Complete", "Failed"})
EXPORT_DONE: Final = frozenset({"Completed", "Failed", "Cancelled"})


@dataclass(frozen=True)
class ImportStatus:
    batch_id: int
    status: str
    processed: int
    failed: int
    warnings: int
    message: str


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
    def __init__(self, client: MarketoClient, poll_s: float = 5.0) -> None:
        self.client = client
        self.poll_s = poll_s

    def start_import(self, records: Sequence[dict[str, Any]], lookup_field: str = "email") -> list[int]:
        """Queue import jobs of at most ~9 MB each; returns their batch ids. No per-row ids come back."""
        columns = sorted({k for r in records for k in r})
        batches: list[list[dict[str, Any]]] = [[]]
        size = len(_csv([], columns))
        for record in records:
            row_size = len(_csv([record], columns)) - len(_csv([], columns))
            if batches[-1] and size + row_size > MAX_IMPORT_BYTES:
                batches.append([])
                size = len(_csv([], columns))
            batches[-1].append(record)
            size += row_size
        ids = []
        for batch in batches:
            if not batch:
                continue
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

    def wait_for_import(self, batch_id: int, timeout_s: float = 3600.0) -> ImportStatus:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.import_status(batch_id)
            if status.status in IMPORT_DONE:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"bulk import {batch_id} still {status.status} after {timeout_s:.0f} s")
            time.sleep(self.poll_s)

    def import_failures(self, batch_id: int) -> list[dict[str, str]]:
        """Each failed row with its "Import Failure Reason": these go to the sync-errors table."""
        return _rows(self.client.download(f"/bulk/v1/leads/batch/{int(batch_id)}/failures.json"))

    def extract(
        self,
        fields: Sequence[str],
        window_field: str,
        start: datetime,
        end: datetime,
        timeout_s: float = 3600.0,
    ) -> list[dict[str, str]]:
        """Every person whose createdAt/updatedAt is in [start, end) (at most 31 days), as rows."""
        body = {
            "fields": list(fields),
            "format": "CSV",
            "filter": {window_field: {"startAt": start.isoformat(), "endAt": end.isoformat()}},
        }
        export_id = self.client.call("POST", "/bulk/v1/leads/export/create.json", json=body).result[0]["exportId"]
        self.client.call("POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json")
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.client.call("GET", f"/bulk/v1/leads/export/{export_id}/status.json").result[0]
            if status["status"] in EXPORT_DONE:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"bulk extract {export_id} still {status['status']} after {timeout_s:.0f} s")
            time.sleep(self.poll_s)
        if status["status"] != "Completed":
            raise MarketoFatal("export", f"bulk extract {export_id} ended {status['status']}")
        return _rows(self.client.download(f"/bulk/v1/leads/export/{export_id}/file.json"))
