"""Bulk import and export jobs."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.marketo import bulk
from emulators.marketo.catalogue import (
    ACTIVITY_TYPES,
    DEFAULT_QUERY_FIELDS,
)
from emulators.marketo.core import BULK, rest
from emulators.marketo.lead_routes import LeadRoutes
from emulators.marketo.wire import (
    MarketoError,
    envelope,
    json_body,
)


class BulkRoutes(LeadRoutes):  # a bulk import pushes persons as the REST push does
    def _advance_bulk(self) -> None:
        """Move jobs along their lifecycles on the emulator clock (called under the lock)."""
        now = self.clock.now()
        queue_s = self.clock.scaled(bulk.QUEUE_S)
        for job in sorted(self.imports.values(), key=lambda j: j.batch_id):
            if job.status == "Importing" and now - (job.started or now) >= self.clock.scaled(
                len(job.rows) / bulk.ROWS_PER_S
            ):
                seen: set[Any] = set()
                for row in job.rows:
                    values = {k: v for k, v in row.items() if v not in ("", "null")}
                    outcome = self._push_one(values, "createOrUpdate", job.lookup_field, seen)
                    if outcome["status"] == "skipped":
                        job.failures.append((row, outcome["reasons"][0]["message"]))
                    else:
                        job.processed += 1
                job.status = "Complete"
            importing = sum(1 for j in self.imports.values() if j.status == "Importing")
            if job.status == "Queued" and now - job.created >= queue_s and importing < bulk.MAX_RUNNING:
                job.status, job.started = "Importing", now
        for export in sorted(self.exports.values(), key=lambda e: e.created):
            processing = sum(1 for e in self.exports.values() if e.status == "Processing")
            if export.status == "Queued" and now - (export.queued or now) >= queue_s and processing < bulk.MAX_RUNNING:
                export.status, export.started = "Processing", now
            if export.status == "Processing" and now - (export.started or now) >= queue_s:
                if export.kind == "leads":
                    rows: list[Any] = bulk.lead_rows(self.persons.leads.values(), export.window)
                else:
                    log = self.persons.activities
                    _, start, end = export.window
                    span = log.items[log.position_since(start.timestamp()) : log.position_since(end.timestamp())]
                    rows = bulk.activity_rows(span, export.window, export.activity_types)
                export.file = bulk.to_csv(rows, export.fields, export.headers)
                export.records = len(rows)
                day = self.limits.today()
                self.export_bytes[day] = self.export_bytes.get(day, 0) + len(export.file)
                export.status, export.finished = "Completed", now

    @rest(f"{BULK}/leads.json", "POST", max_body=bulk.MAX_IMPORT_BYTES + 64 * 1024)
    def on_bulk_import(self, request: Request) -> dict[str, Any]:
        if request.args.get("format", "csv").lower() != "csv":
            raise MarketoError("1003", detail="Only format=csv is supported by this emulator")
        upload = request.files.get("file")
        if upload is None:
            raise MarketoError("701", detail="file")
        data = upload.read()
        if len(data) > bulk.MAX_IMPORT_BYTES:
            raise MarketoError("1003", detail="File size exceeds 10 MB")
        lookup = request.args.get("lookupField") or request.form.get("lookupField") or "email"
        with self.lock:
            self._advance_bulk()
            if lookup not in self.persons.searchable():
                raise MarketoError("1003", detail=f"Invalid lookup field '{lookup}'")
            if sum(1 for j in self.imports.values() if j.status == "Queued") >= bulk.MAX_QUEUED:
                raise MarketoError("1016")
            try:
                rows = bulk.parse_csv(data)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise MarketoError("1003", detail=f"Invalid CSV file: {exc}") from None
            job = bulk.ImportJob(len(self.imports) + 1, rows, lookup, self.clock.now())
            self.imports[job.batch_id] = job
            return envelope([job.wire()])

    def _import_job(self, batch_id: int) -> bulk.ImportJob:
        self._advance_bulk()
        job = self.imports.get(batch_id)
        if job is None:
            raise MarketoError("1003", detail=f"Import batch {batch_id} not found")
        return job

    @rest(f"{BULK}/leads/batch/<int:batch_id>.json", "GET")
    def on_bulk_import_status(self, request: Request, batch_id: int) -> dict[str, Any]:
        with self.lock:
            return envelope([self._import_job(batch_id).wire()])

    @rest(f"{BULK}/leads/batch/<int:batch_id>/<any(failures, warnings):kind>.json", "GET")
    def on_bulk_import_rows(self, request: Request, batch_id: int, kind: str) -> Response:
        with self.lock:
            job = self._import_job(batch_id)
            if job.status != "Complete":
                raise MarketoError("1003", detail=f"Import batch {batch_id} is {job.status}, not Complete")
            items = job.failures if kind == "failures" else job.warnings
            reason = "Import Failure Reason" if kind == "failures" else "Import Warning Reason"
            return Response(bulk.failure_csv(items, reason), mimetype="text/csv")

    @rest(f"{BULK}/<any(leads, activities):kind>/export/create.json", "POST")
    def on_bulk_export_create(self, request: Request, kind: str) -> dict[str, Any]:
        body = json_body(request)
        window = body.get("filter") or {}
        if not isinstance(window, dict):
            raise MarketoError("1003", detail="filter must be an object")
        allowed = ("createdAt", "updatedAt") if kind == "leads" else ("createdAt",)
        names = [n for n in allowed if n in window]
        if len(names) != 1:
            raise MarketoError("1003", detail=f"filter needs exactly one of {', '.join(allowed)}")
        try:
            start = datetime.fromisoformat(str(window[names[0]]["startAt"]).replace("Z", "+00:00"))
            end = datetime.fromisoformat(str(window[names[0]]["endAt"]).replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError):
            raise MarketoError("1003", detail="filter needs startAt and endAt as ISO-8601 date-times") from None
        if (end - start).total_seconds() > bulk.MAX_WINDOW_S or end <= start:
            raise MarketoError("1003", detail="Date range must be positive and at most 31 days")
        headers = body.get("columnHeaderNames") or {}
        if not isinstance(headers, dict):
            raise MarketoError("1003", detail="columnHeaderNames must map field names to header names")
        try:
            types = frozenset(int(t) for t in window.get("activityTypeIds") or ())
        except (TypeError, ValueError):
            raise MarketoError("1003", detail="activityTypeIds must be whole numbers") from None
        with self.lock:
            if kind == "leads":
                fields = body.get("fields") or list(DEFAULT_QUERY_FIELDS)
                known: Any = self.persons.fields
            else:
                fields = body.get("fields") or list(bulk.ACTIVITY_FIELDS)
                known = bulk.ACTIVITY_FIELDS
            unknown = [f for f in fields if f not in known]
            if unknown:
                raise MarketoError("1003", detail=f"Field '{unknown[0]}' not found")
            unknown_types = sorted(types - {t["id"] for t in ACTIVITY_TYPES})
            if unknown_types:
                raise MarketoError("1003", detail=f"Invalid activityTypeIds {unknown_types}")
            export = bulk.ExportJob(
                str(uuid.uuid4()), kind, list(fields), (names[0], start, end), self.clock.now(), headers, types
            )
            self.exports[export.export_id] = export
            return envelope([export.wire()])

    def _export_job(self, kind: str, export_id: str) -> bulk.ExportJob:
        self._advance_bulk()
        export = self.exports.get(export_id)
        if export is None or export.kind != kind:
            raise MarketoError("1003", detail=f"Export '{export_id}' not found")
        return export

    @rest(f"{BULK}/<any(leads, activities):kind>/export/<export_id>/<any(enqueue, cancel):verb>.json", "POST")
    def on_bulk_export_verb(self, request: Request, kind: str, export_id: str, verb: str) -> dict[str, Any]:
        with self.lock:
            export = self._export_job(kind, export_id)
            if verb == "cancel":
                export.status = "Cancelled"
                return envelope([export.wire()])
            if export.status != "Created":
                raise MarketoError("1003", detail=f"Export is {export.status}; only a Created export can be enqueued")
            if self.export_bytes.get(self.limits.today(), 0) >= bulk.EXPORT_DAILY_BYTES:
                raise MarketoError("1029", detail="Export daily quota 500MB exceeded")
            if sum(1 for e in self.exports.values() if e.status == "Queued") >= bulk.MAX_QUEUED:
                raise MarketoError("1029", detail="Too many jobs (10) in queue")
            export.status, export.queued = "Queued", self.clock.now()
            return envelope([export.wire()])

    @rest(f"{BULK}/<any(leads, activities):kind>/export.json", "GET")
    def on_bulk_export_jobs(self, request: Request, kind: str) -> dict[str, Any]:
        """Export jobs of the last 7 days, newest first, filtered by `status` (any case), in
        batches of up to 300 with a paging token."""
        wanted = {s.lower() for raw in request.args.getlist("status") for s in raw.split(",") if s}
        try:
            size = min(int(request.args.get("batchSize", 300)), 300)
            offset = int(request.args.get("nextPageToken") or 0)
        except ValueError:
            raise MarketoError("1003", detail="batchSize and nextPageToken must be whole numbers") from None
        with self.lock:
            self._advance_bulk()
            jobs = sorted((e for e in self.exports.values() if e.kind == kind), key=lambda e: e.created, reverse=True)
            jobs = [j for j in jobs if not wanted or j.status.lower() in wanted]
            page = [j.wire() for j in jobs[offset : offset + size]]
        more = offset + size < len(jobs)
        return envelope(page, **({"nextPageToken": str(offset + size)} if more else {}))

    @rest(f"{BULK}/<any(leads, activities):kind>/export/<export_id>/status.json", "GET")
    def on_bulk_export_status(self, request: Request, kind: str, export_id: str) -> dict[str, Any]:
        with self.lock:
            return envelope([self._export_job(kind, export_id).wire()])

    @rest(f"{BULK}/<any(leads, activities):kind>/export/<export_id>/file.json", "GET")
    def on_bulk_export_file(self, request: Request, kind: str, export_id: str) -> Response:
        with self.lock:
            export = self._export_job(kind, export_id)
            if export.status != "Completed" or export.file is None:
                raise MarketoError("1003", detail=f"Export is {export.status}; the file exists once Completed")
            data = export.file
        response = Response(data, mimetype="text/csv")
        response.headers["Accept-Ranges"] = "bytes"
        response = response.make_conditional(request, accept_ranges=True, complete_length=len(data))
        del response.headers["Date"]  # make_conditional adds one and the server another: Marketo sends one
        return response
