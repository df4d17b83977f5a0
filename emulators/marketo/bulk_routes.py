"""Bulk import and export jobs."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.marketo import bulk
from emulators.marketo.catalogue import (
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
                name, start, end = export.window
                rows = [
                    lead
                    for lead in self.persons.leads.values()
                    if start.strftime("%Y-%m-%dT%H:%M:%SZ") <= str(lead.get(name)) < end.strftime("%Y-%m-%dT%H:%M:%SZ")
                ]
                export.file = bulk.to_csv(rows, export.fields)
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

    @rest(f"{BULK}/leads/export/create.json", "POST")
    def on_bulk_export_create(self, request: Request) -> dict[str, Any]:
        body = json_body(request)
        fields = body.get("fields") or list(DEFAULT_QUERY_FIELDS)
        window = body.get("filter") or {}
        names = [n for n in ("createdAt", "updatedAt") if n in window]
        if len(names) != 1:
            raise MarketoError("1003", detail="filter needs exactly one of createdAt or updatedAt")
        try:
            start = datetime.fromisoformat(str(window[names[0]]["startAt"]).replace("Z", "+00:00"))
            end = datetime.fromisoformat(str(window[names[0]]["endAt"]).replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError):
            raise MarketoError("1003", detail="filter needs startAt and endAt as ISO-8601 date-times") from None
        if (end - start).total_seconds() > bulk.MAX_WINDOW_S or end <= start:
            raise MarketoError("1003", detail="Date range must be positive and at most 31 days")
        with self.lock:
            unknown = [f for f in fields if f not in self.persons.fields]
            if unknown:
                raise MarketoError("1003", detail=f"Field '{unknown[0]}' not found")
            export = bulk.ExportJob(str(uuid.uuid4()), list(fields), (names[0], start, end), self.clock.now())
            self.exports[export.export_id] = export
            return envelope([export.wire()])

    def _export_job(self, export_id: str) -> bulk.ExportJob:
        self._advance_bulk()
        export = self.exports.get(export_id)
        if export is None:
            raise MarketoError("1003", detail=f"Export '{export_id}' not found")
        return export

    @rest(f"{BULK}/leads/export/<export_id>/<any(enqueue, cancel):verb>.json", "POST")
    def on_bulk_export_verb(self, request: Request, export_id: str, verb: str) -> dict[str, Any]:
        with self.lock:
            export = self._export_job(export_id)
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

    @rest(f"{BULK}/leads/export.json", "GET")
    def on_bulk_export_jobs(self, request: Request) -> dict[str, Any]:
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
            jobs = sorted(self.exports.values(), key=lambda e: e.created, reverse=True)
            jobs = [j for j in jobs if not wanted or j.status.lower() in wanted]
            page = [j.wire() for j in jobs[offset : offset + size]]
        more = offset + size < len(jobs)
        return envelope(page, **({"nextPageToken": str(offset + size)} if more else {}))

    @rest(f"{BULK}/leads/export/<export_id>/status.json", "GET")
    def on_bulk_export_status(self, request: Request, export_id: str) -> dict[str, Any]:
        with self.lock:
            return envelope([self._export_job(export_id).wire()])

    @rest(f"{BULK}/leads/export/<export_id>/file.json", "GET")
    def on_bulk_export_file(self, request: Request, export_id: str) -> Response:
        with self.lock:
            export = self._export_job(export_id)
            if export.status != "Completed" or export.file is None:
                raise MarketoError("1003", detail=f"Export is {export.status}; the file exists once Completed")
            data = export.file
        response = Response(data, mimetype="text/csv")
        response.headers["Accept-Ranges"] = "bytes"
        return response.make_conditional(request, accept_ranges=True, complete_length=len(data))
