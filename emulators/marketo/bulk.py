"""Marketo's bulk lead import and its lead and activity extracts: the jobs, their lifecycles on
the emulator clock, and their limits (imports: 2 importing, 10 queued, 10 MB files; extracts of
any kind together: 2 processing, 10 queued, 500 MB a day counted by the day a job finished,
windows of at most 31 days). No web framework here: the routes (`bulk_routes`) drive it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from emulators.marketo import bulk_files
from emulators.marketo.envelopes import MarketoError
from emulators.marketo.models import PersonDatabase
from emulators.marketo.push import push_person

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


@dataclass(frozen=True)
class ImportRefusal:
    """A test's stand-in for a row Marketo refuses for a reason a client cannot foresee: an
    imported row whose `field` is `value` fails with `reason` (set by /_emulator/import-refusals)."""

    field: str
    value: str
    reason: str


class BulkJobs:
    """Every import and extract job of the instance, and the limits they share."""

    def __init__(self) -> None:
        self.refusals: list[ImportRefusal] = []
        self.imports: dict[int, ImportJob] = {}
        self.exports: dict[str, ExportJob] = {}
        self.export_bytes: dict[str, int] = {}  # per day (US Central), by the day a job finished

    def submit_import(self, rows: list[dict[str, str]], lookup: str, now: float) -> ImportJob:
        if sum(1 for j in self.imports.values() if j.status == "Queued") >= MAX_QUEUED:
            raise MarketoError("1016")
        job = ImportJob(len(self.imports) + 1, rows, lookup, now)
        self.imports[job.batch_id] = job
        return job

    def import_job(self, batch_id: int) -> ImportJob:
        job = self.imports.get(batch_id)
        if job is None:
            raise MarketoError("1003", detail=f"Import batch {batch_id} not found")
        return job

    def add_export(self, export: ExportJob) -> ExportJob:
        self.exports[export.export_id] = export
        return export

    def export_job(self, kind: str, export_id: str) -> ExportJob:
        """An export is known only on the path (leads, activities) it was created on."""
        export = self.exports.get(export_id)
        if export is None or export.kind != kind:
            raise MarketoError("1003", detail=f"Export '{export_id}' not found")
        return export

    def enqueue(self, export: ExportJob, now: float, today: str) -> None:
        if export.status != "Created":
            raise MarketoError("1003", detail=f"Export is {export.status}; only a Created export can be enqueued")
        if self.export_bytes.get(today, 0) >= EXPORT_DAILY_BYTES:
            raise MarketoError("1029", detail="Export daily quota 500MB exceeded")
        if sum(1 for e in self.exports.values() if e.status == "Queued") >= MAX_QUEUED:
            raise MarketoError("1029", detail="Too many jobs (10) in queue")
        export.status, export.queued = "Queued", now

    def advance(self, persons: PersonDatabase, now: float, scaled: Callable[[float], float], today: str) -> None:
        """Move jobs along their lifecycles: queued jobs start while fewer than two run; an import
        finishes after its rows at ROWS_PER_S, pushing each row as a createOrUpdate by its lookup
        field under the list import rules (`push_person`): a rejected row becomes a failure with
        Marketo's reason, a row taken with a malformed email a warning; an extract writes its file."""
        queue_s = scaled(QUEUE_S)
        for job in sorted(self.imports.values(), key=lambda j: j.batch_id):
            if job.status == "Importing" and now - (job.started or now) >= scaled(len(job.rows) / ROWS_PER_S):
                seen: set[Any] = set()
                for row in job.rows:
                    refused = next((r for r in self.refusals if row.get(r.field) == r.value), None)
                    if refused is not None:
                        job.failures.append((row, refused.reason))
                        continue
                    values = {k: v for k, v in row.items() if v not in ("", "null")}
                    warned: list[str] = []
                    outcome = push_person(persons, values, "createOrUpdate", job.lookup_field, seen, now, warned)
                    if outcome["status"] == "skipped":
                        job.failures.append((row, outcome["reasons"][0]["message"]))
                        continue
                    job.processed += 1
                    if warned:
                        job.warnings.append((row, "; ".join(warned)))
                job.status = "Complete"
            importing = sum(1 for j in self.imports.values() if j.status == "Importing")
            if job.status == "Queued" and now - job.created >= queue_s and importing < MAX_RUNNING:
                job.status, job.started = "Importing", now
        for export in sorted(self.exports.values(), key=lambda e: e.created):
            processing = sum(1 for e in self.exports.values() if e.status == "Processing")
            if export.status == "Queued" and now - (export.queued or now) >= queue_s and processing < MAX_RUNNING:
                export.status, export.started = "Processing", now
            if export.status == "Processing" and now - (export.started or now) >= queue_s:
                self._write_file(export, persons, today, now)

    def _write_file(self, export: ExportJob, persons: PersonDatabase, today: str, now: float) -> None:
        rows: list[Any]
        if export.kind == "leads":
            rows = bulk_files.lead_rows(persons.leads.values(), export.window)
        else:
            log = persons.activities
            _, start, end = export.window
            span = log.items[log.position_since(start.timestamp()) : log.position_since(end.timestamp())]
            rows = bulk_files.activity_rows(span, export.window, export.activity_types)
        export.file = bulk_files.to_csv(rows, export.fields, export.headers)
        export.records = len(rows)
        self.export_bytes[today] = self.export_bytes.get(today, 0) + len(export.file)
        export.status, export.finished = "Completed", now
