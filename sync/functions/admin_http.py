"""Admin HTTP endpoints (function key): status (JSON), the status page (HTML), errors (JSON or
CSV), retry errors, start a full copy or its preview, the preview (JSON or HTML), resync a field,
pause and resume. A bad parameter is a
400 that names it and the values allowed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import ValidationError

from sync.engine.pause import pause, resume
from sync.engine.resync import ResyncError, ResyncRequest, resync_targets
from sync.functions import worker
from sync.functions.orchestrations import PREVIEW_INSTANCE
from sync.functions.starts import COPY_PATHS, start_full_copy, start_once
from sync.objects import DIRECTIONS, FULL_COPY_ORDER, SyncObject
from sync.reporting.errors_export import errors_as_csv, errors_as_json
from sync.reporting.preview_page import preview_page, previews_json
from sync.reporting.status import status_report
from sync.reporting.status_page import status_page
from sync.store.checkpoints import Phase

bp = df.Blueprint()

_OBJECTS = ", ".join(o.value for o in SyncObject)


class BadRequest(ValueError):
    pass


def _json(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, indent=2, default=str), status_code=status, mimetype="application/json")


def _bad_request(message: str) -> func.HttpResponse:
    return _json({"error": message}, status=400)


def _object_param(req: func.HttpRequest) -> SyncObject | None:
    raw = req.params.get("object")
    if raw is None:
        return None
    try:
        return SyncObject(raw)
    except ValueError:
        raise BadRequest(f"unknown object {raw!r}; use one of: {_OBJECTS}") from None


def _flag(req: func.HttpRequest, name: str) -> bool:
    raw = req.params.get(name, "false")
    if raw not in ("true", "false"):
        raise BadRequest(f"{name}={raw!r}; use {name}=true or {name}=false, or leave it out")
    return bool(raw == "true")


def _objects(req: func.HttpRequest) -> list[SyncObject]:
    obj = _object_param(req)
    return [obj] if obj else list(FULL_COPY_ORDER)


@bp.function_name("sync_status")
@bp.route(route="sync/status", methods=["GET"])
def sync_status(req: func.HttpRequest) -> func.HttpResponse:
    return _json(status_report(worker.store(), datetime.now(UTC), queue=worker.change_queue()))


@bp.function_name("sync_dashboard")
@bp.route(route="sync/dashboard", methods=["GET"])
def sync_dashboard(req: func.HttpRequest) -> func.HttpResponse:
    html = status_page(status_report(worker.store(), datetime.now(UTC), queue=worker.change_queue()))
    return func.HttpResponse(html, mimetype="text/html", headers={"Cache-Control": "no-store"})


@bp.function_name("sync_errors")
@bp.route(route="sync/errors", methods=["GET"])
def sync_errors(req: func.HttpRequest) -> func.HttpResponse:
    fmt = req.params.get("format", "json")
    if fmt not in ("json", "csv"):
        return _bad_request(f"unknown format {fmt!r}; use format=json or format=csv")
    parked_raw = req.params.get("parked")
    if parked_raw not in (None, "true", "false"):
        return _bad_request(f"parked={parked_raw!r}; use parked=true or parked=false, or leave it out")
    try:
        obj = _object_param(req)
    except BadRequest as exc:
        return _bad_request(str(exc))
    parked = None if parked_raw is None else parked_raw == "true"
    errors = worker.store().errors.list(obj, parked=parked)
    if fmt == "csv":
        return func.HttpResponse(
            errors_as_csv(errors),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="sync-errors.csv"'},
        )
    return _json({"errors": errors_as_json(errors)})


@bp.function_name("sync_errors_retry")
@bp.route(route="sync/errors/retry", methods=["POST"])
def sync_errors_retry(req: func.HttpRequest) -> func.HttpResponse:
    try:
        obj = _object_param(req)
    except BadRequest as exc:
        return _bad_request(str(exc))
    touched = worker.store().errors.request_retry(obj)
    return _json({"retry_requested": touched, "object": obj.value if obj else None})


@bp.function_name("sync_full_copy")
@bp.route(route="sync/full-copy", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def sync_full_copy(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the full copy of one object (?object=) or of all in order; ?again=true re-baselines;
    ?path=rest|bulk|auto chooses how contacts and leads go (default auto: by size). ?dry_run=true
    starts its preview instead, which writes nothing but its report (GET sync/preview)."""
    try:
        objects, again, path = _objects(req), _flag(req, "again"), req.params.get("path", "auto")
        if path not in COPY_PATHS:
            raise BadRequest(f"path={path!r}; use one of {', '.join(COPY_PATHS)}, or leave it out")
        dry_run = _flag(req, "dry_run")
        if dry_run and again:
            raise BadRequest("dry_run=true previews a first copy; again=true does not apply to it: leave it out")
    except BadRequest as exc:
        return _bad_request(str(exc))
    if dry_run:
        started = await start_once(
            client, "full_copy_preview", PREVIEW_INSTANCE, {"objects": [o.value for o in objects]}
        )
        return _json({**started, "report": "GET /api/sync/preview (format=html for the page)"}, status=202)
    return _json(await start_full_copy(client, objects, again, path), status=202)


@bp.function_name("sync_preview")
@bp.route(route="sync/preview", methods=["GET"])
def sync_preview(req: func.HttpRequest) -> func.HttpResponse:
    """The latest preview of each object's first copy: JSON, or ?format=html the page."""
    fmt = req.params.get("format", "json")
    if fmt not in ("json", "html"):
        return _bad_request(f"unknown format {fmt!r}; use format=json or format=html")
    stored = worker.store().previews.latest()
    if fmt == "html":
        return func.HttpResponse(preview_page(stored), mimetype="text/html", headers={"Cache-Control": "no-store"})
    return _json(previews_json(stored))


@bp.function_name("sync_resync_field")
@bp.route(route="sync/resync-field", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def sync_resync_field(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Push mapped fields (?field=a,b: Marketo or Dynamics names) of ?object= for every linked record,
    or (Quick Sync) only those created or modified in Dynamics since ?created_since= / ?modified_since=
    (ISO 8601 with a zone); empty values clear the field in Marketo."""
    try:
        obj, fields = _object_param(req), [f.strip() for f in req.params.get("field", "").split(",") if f.strip()]
    except BadRequest as exc:
        return _bad_request(str(exc))
    if obj is None or not fields:
        return _bad_request(
            "give object=<object> and field=<mapped fields' Marketo or Dynamics names, comma-separated>"
        )
    try:
        request = ResyncRequest(
            object=obj,
            fields=tuple(fields),
            created_since=req.params.get("created_since") or None,
            modified_since=req.params.get("modified_since") or None,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _bad_request(f"{problems} (dates are ISO 8601 with a zone, e.g. 2026-12-01T00:00:00Z)")
    try:
        resync_targets(worker.engine(), request)
    except ResyncError as exc:
        return _bad_request(str(exc))
    started = await start_once(client, "resync_field", request.instance(), {"request": request.model_dump(mode="json")})
    return _json(started, status=202)


@bp.function_name("sync_pause")
@bp.route(route="sync/pause", methods=["POST"])
def sync_pause(req: func.HttpRequest) -> func.HttpResponse:
    try:
        objects = _objects(req)
    except BadRequest as exc:
        return _bad_request(str(exc))
    newly = pause(worker.store(), objects, datetime.now(UTC))
    return _json({"paused": [o.value for o in objects], "newly_paused": [o.value for o in newly]})


@bp.function_name("sync_resume")
@bp.route(route="sync/resume", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def sync_resume(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Resume; an object resumed in the middle of its full copy gets the copy started again."""
    try:
        objects = _objects(req)
    except BadRequest as exc:
        return _bad_request(str(exc))
    store = worker.store()
    resumed = resume(store, objects)
    copying = [
        o
        for o in resumed
        if (c := store.checkpoints.get(o, DIRECTIONS[o][0])) is not None and c.phase is Phase.FULL_COPY
    ]
    restarted = [await start_full_copy(client, [o]) for o in copying]
    return _json({"resumed": [o.value for o in resumed], "full_copies": restarted})
