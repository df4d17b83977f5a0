"""Marketo's bulk lead import and lead extract jobs: their lifecycles on the emulator clock, and
their limits (imports: 2 importing, 10 queued, 10 MB files; extracts: 2 processing, 10 queued,
500 MB a day, windows of at most 31 days)."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

MAX_IMPORT_BYTES: Final = 10 * 1024 * 1024
MAX_RUNNING: Final = 2
MAX_QUEUED: Final = 10
EXPORT_DAILY_BYTES: Final = 500 * 1024 * 1024
MAX_WINDOW_S: Final = 31 * 24 * 3600
QUEUE_S: Final = 1.0  # how long a job waits in the queue, before --time-scale
ROWS_PER_S: Final = 20_000  # processing speed, before --time-scale


@dataclass
class ImportJob:
    batch_id: int
    rows: list[dict[str, str]]
    lookup_field: str
    created: float
    status: str = "Queued"
    started: float | None = None
    processed: int = 0
    failures: list[tuple[dict[str, str], str]] = field(default_factory=list)
    warnings: list[tuple[dict[str, str], str]] = field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return {
            "batchId": self.batch_id,
            "importId": str(self.batch_id),
            "status": self.status,
            "numOfLeadsProcessed": self.processed,
            "numOfRowsFailed": len(self.failures),
            "numOfRowsWithWarning": len(self.warnings),
            "message": "Import completed with errors" if self.failures else "Import succeeded",
        }


@dataclass
class ExportJob:
    export_id: str
    fields: list[str]
    window: tuple[str, datetime, datetime]
    created: float
    status: str = "Created"
    queued: float | None = None
    started: float | None = None
    finished: float | None = None  # Marketo counts the daily export quota by this moment's day
    file: bytes | None = None
    records: int = 0

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "exportId": self.export_id,
            "format": "CSV",
            "status": self.status,
            "createdAt": datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.queued is not None:
            body["queuedAt"] = datetime.fromtimestamp(self.queued, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.started is not None:
            body["startedAt"] = datetime.fromtimestamp(self.started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.finished is not None:
            body["finishedAt"] = datetime.fromtimestamp(self.finished, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.status == "Completed" and self.file is not None:
            body.update(
                numberOfRecords=self.records,
                fileSize=len(self.file),
                fileChecksum=hashlib.sha256(self.file).hexdigest(),
            )
        return body


def parse_csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["null" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue().encode()


def failure_csv(items: list[tuple[dict[str, str], str]], reason_column: str) -> bytes:
    if not items:
        return b""
    columns = [*items[0][0].keys(), reason_column]
    return to_csv([{**row, reason_column: why} for row, why in items], columns)
