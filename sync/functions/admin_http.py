"""Admin HTTP endpoints (function key): status, errors (JSON / CSV), retry errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from sync.functions import runtime
from sync.objects import SyncObject
from sync.reporting.errors_export import errors_as_csv, errors_as_json
from sync.reporting.status import status_report

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions ships it unannotated

_OBJECTS = ", ".join(o.value for o in SyncObject)


def _json(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, indent=2), status_code=status, mimetype="application/json")


def _bad_request(message: str) -> func.HttpResponse:
    return _json({"error": message}, status=400)


def _object_param(req: func.HttpRequest) -> SyncObject | None:
    raw = req.params.get("object")
    if raw is None:
        return None
    try:
        return SyncObject(raw)
    except ValueError:
        raise ValueError(f"unknown object {raw!r}; use one of: {_OBJECTS}") from None


@bp.function_name("sync_status")
@bp.route(route="sync/status", methods=["GET"])
def sync_status(req: func.HttpRequest) -> func.HttpResponse:
    return _json(status_report(runtime.store(), datetime.now(UTC)))


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
    except ValueError as exc:
        return _bad_request(str(exc))
    parked = None if parked_raw is None else parked_raw == "true"
    errors = runtime.store().errors.list(obj, parked=parked)
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
    except ValueError as exc:
        return _bad_request(str(exc))
    touched = runtime.store().errors.request_retry(obj)
    return _json({"retry_requested": touched, "object": obj.value if obj else None})
