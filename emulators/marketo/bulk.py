"""Marketo's bulk lead import and its lead and activity extracts: the jobs, their limits (imports:
2 importing, 10 queued, 10 MB files; extracts of any kind together: 2 processing, 10 queued,
500 MB a day counted by the day a job finished, windows of at most 31 days) and the files, as
Marketo writes them: CSV, `null` for a missing value, `true`/`false` for booleans, an activity's
attributes as one JSON object. No web framework here: the routes (`bulk_routes`) drive it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
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
ACTIVITY_FIELDS: Final = (
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
)


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
    kind: str  # "leads" or "activities": the path it was created on, and the only one that knows it
    fields: list[str]
    window: tuple[str, datetime, datetime]
    created: float
    headers: Mapping[str, str] = field(default_factory=dict)  # columnHeaderNames
    activity_types: frozenset[int] = frozenset()  # activities: filter.activityTypeIds (empty: all)
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


def cell(value: Any) -> Any:
    """A value as Marketo writes it into a bulk file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_csv(rows: Iterable[Mapping[str, Any]], columns: list[str], headers: Mapping[str, str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([(headers or {}).get(c, c) for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue().encode()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def lead_rows(leads: Iterable[Mapping[str, Any]], window: tuple[str, datetime, datetime]) -> list[Mapping[str, Any]]:
    """Persons whose createdAt or updatedAt (the filter's name) falls in [start, end)."""
    name, start, end = window
    low, high = stamp(start), stamp(end)
    return [lead for lead in leads if low <= str(lead.get(name)) < high]


def activity_rows(
    activities: Iterable[Any], window: tuple[str, datetime, datetime], types: frozenset[int]
) -> list[dict[str, Any]]:
    """Activities created in [start, end), of the wanted types, as the extract's columns."""
    _, start, end = window
    low, high = start.timestamp(), end.timestamp()
    rows = []
    for activity in activities:
        if not low <= activity.epoch < high or (types and activity.type_id not in types):
            continue
        wire = activity.generic_wire()
        rows.append(
            {
                **wire,
                "activityDate": stamp(datetime.fromtimestamp(activity.epoch, UTC)),
                "campaignId": wire.get("campaignId"),
                "primaryAttributeValueId": wire.get("primaryAttributeValueId"),
                "primaryAttributeValue": wire.get("primaryAttributeValue"),
                "attributes": json.dumps({a["name"]: a["value"] for a in wire.get("attributes", [])}),
            }
        )
    return rows


def failure_csv(items: list[tuple[dict[str, str], str]], reason_column: str) -> bytes:
    if not items:
        return b""
    columns = [*items[0][0].keys(), reason_column]
    return to_csv([{**row, reason_column: why} for row, why in items], columns)
