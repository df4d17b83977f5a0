"""Bulk import and export jobs."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common.control import control, json_response
from emulators.marketo import bulk, bulk_files
from emulators.marketo.catalogue import (
    ACTIVITY_TYPES,
    DEFAULT_QUERY_FIELDS,
)
from emulators.marketo.core import BULK, rest
from emulators.marketo.envelopes import MarketoError, envelope
from emulators.marketo.lead_routes import LeadRoutes
from emulators.marketo.wire import json_body


class BulkRoutes(LeadRoutes):  # a bulk import pushes persons as the REST push does
    def _jobs(self) -> bulk.BulkJobs:
        """The jobs, moved along to now (called under the lock)."""
        self.bulk.advance(self.persons, self.clock.now(), self.clock.scaled, self.limits.today())
        return self.bulk

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
        try:
            rows = bulk_files.parse_csv(data)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise MarketoError("1003", detail=f"Invalid CSV file: {exc}") from None
        with self.lock:
            jobs = self._jobs()
            if lookup not in self.persons.searchable():
                raise MarketoError("1003", detail=f"Invalid lookup field '{lookup}'")
            return envelope([jobs.submit_import(rows, lookup, self.clock.now()).wire()])

    @control("import-refusals", "POST")
    def control_import_refusals(self, request: Request, body: Any) -> Response:
        """Rows to refuse at import: {"field": .., "value": .., "reason": ..} (reset clears them)."""
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("field", "value", "reason")):
            return json_response({"error": "give 'field', 'value' and 'reason', each a string"}, 400)
        with self.lock:
            self.bulk.refusals.append(bulk.ImportRefusal(body["field"], body["value"], body["reason"]))
            return json_response({"refusals": len(self.bulk.refusals)})

    @rest(f"{BULK}/leads/batch/<int:batch_id>.json", "GET")
    def on_bulk_import_status(self, request: Request, batch_id: int) -> dict[str, Any]:
        with self.lock:
            return envelope([self._jobs().import_job(batch_id).wire()])

    @rest(f"{BULK}/leads/batch/<int:batch_id>/<any(failures, warnings):kind>.json", "GET")
    def on_bulk_import_rows(self, request: Request, batch_id: int, kind: str) -> Response:
        with self.lock:
            job = self._jobs().import_job(batch_id)
            if job.status != "Complete":
                raise MarketoError("1003", detail=f"Import batch {batch_id} is {job.status}, not Complete")
            items = job.failures if kind == "failures" else job.warnings
            reason = "Import Failure Reason" if kind == "failures" else "Import Warning Reason"
            return Response(bulk_files.failure_csv(items, reason), mimetype="text/csv")

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
                fields = body.get("fields") or list(bulk_files.ACTIVITY_FIELDS)
                known = bulk_files.ACTIVITY_FIELDS
            unknown = [f for f in fields if f not in known]
            if unknown:
                raise MarketoError("1003", detail=f"Field '{unknown[0]}' not found")
            unknown_types = sorted(types - {t["id"] for t in ACTIVITY_TYPES})
            if unknown_types:
                raise MarketoError("1003", detail=f"Invalid activityTypeIds {unknown_types}")
            export = bulk.ExportJob(
                str(uuid.uuid4()), kind, list(fields), (names[0], start, end), self.clock.now(), headers, types
            )
            return envelope([self.bulk.add_export(export).wire()])

    @rest(f"{BULK}/<any(leads, activities):kind>/export/<export_id>/<any(enqueue, cancel):verb>.json", "POST")
    def on_bulk_export_verb(self, request: Request, kind: str, export_id: str, verb: str) -> dict[str, Any]:
        with self.lock:
            export = self._jobs().export_job(kind, export_id)
            if verb == "cancel":
                export.status = "Cancelled"
                return envelope([export.wire()])
            self.bulk.enqueue(export, self.clock.now(), self.limits.today())
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
            exports = self._jobs().exports.values()
            jobs = sorted((e for e in exports if e.kind == kind), key=lambda e: e.created, reverse=True)
            jobs = [j for j in jobs if not wanted or j.status.lower() in wanted]
            page = [j.wire() for j in jobs[offset : offset + size]]
        more = offset + size < len(jobs)
        return envelope(page, **({"nextPageToken": str(offset + size)} if more else {}))

    @rest(f"{BULK}/<any(leads, activities):kind>/export/<export_id>/status.json", "GET")
    def on_bulk_export_status(self, request: Request, kind: str, export_id: str) -> dict[str, Any]:
        with self.lock:
            return envelope([self._jobs().export_job(kind, export_id).wire()])

    @rest(f"{BULK}/<any(leads, activities):kind>/export/<export_id>/file.json", "GET")
    def on_bulk_export_file(self, request: Request, kind: str, export_id: str) -> Response:
        with self.lock:
            export = self._jobs().export_job(kind, export_id)
            if export.status != "Completed" or export.file is None:
                raise MarketoError("1003", detail=f"Export is {export.status}; the file exists once Completed")
            data = export.file
        response = Response(data, mimetype="text/csv")
        response.headers["Accept-Ranges"] = "bytes"
        response = response.make_conditional(request, accept_ranges=True, complete_length=len(data))
        del response.headers["Date"]  # make_conditional adds one and the server another: Marketo sends one
        return response
