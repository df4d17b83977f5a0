"""Marketo's wire format: the HTTP-200 envelope, response-level errors, record-level reasons,
request ids and list parameters."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.marketo.catalogue import ERRORS, REASONS


class MarketoError(Exception):
    """A response-level error: HTTP 200 with success=false and the code in `errors`."""

    def __init__(self, code: str, **detail: Any) -> None:
        self.code = code
        self.message = ERRORS.get(code, "{detail}").format(**detail)
        super().__init__(f"{code} {self.message}")


def request_id() -> str:
    return f"{secrets.token_hex(2)}#{int(time.time() * 1000):x}"


def envelope(result: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Swagger marks errors, requestId, result, success and warnings as required: always sent."""
    body: dict[str, Any] = {
        "requestId": request_id(),
        "result": result or [],
        "success": True,
        "errors": [],
        "warnings": [],
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def error_envelope(code: str, message: str) -> dict[str, Any]:
    return {
        "requestId": request_id(),
        "result": [],
        "success": False,
        "errors": [{"code": code, "message": message}],
        "warnings": [],
    }


def reason(code: str, detail: str = "") -> dict[str, str]:
    return {"code": code, "message": REASONS[code].format(detail=detail)}


def skipped(code: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    return {**extra, "status": "skipped", "reasons": [reason(code, detail)]}


def reply(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=200, mimetype="application/json")


def is_get_override(request: Request) -> bool:
    """POST with `_method=GET` (query or form body): Marketo's answer to URIs over 8 KB."""
    return request.method == "POST" and "GET" in (request.args.get("_method"), request.form.get("_method"))


def params(request: Request) -> dict[str, str]:
    """Query parameters, plus the form body of a `_method=GET` POST; repeated keys join with commas."""
    merged = {key: ",".join(request.args.getlist(key)) for key in request.args}
    if is_get_override(request):
        merged.update({key: ",".join(request.form.getlist(key)) for key in request.form})
    return merged


def list_param(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise MarketoError("609") from None
    if not isinstance(body, dict):
        raise MarketoError("609")
    return body


def input_records(body: dict[str, Any], maximum: int = 300) -> list[Any]:
    """The `input` array every Lead Database write takes: present, non-empty, at most 300 records."""
    records = body.get("input")
    if not isinstance(records, list) or not records:
        raise MarketoError("701", detail="input")
    if len(records) > maximum:
        raise MarketoError("1003", detail=f"Too many records in input, maximum {maximum}")
    return records


def batch_size(raw: str | None, maximum: int = 300) -> int:
    if raw is None:
        return maximum
    try:
        size = int(raw)
    except ValueError:
        raise MarketoError("1003", detail=f"Invalid batchSize '{raw}'") from None
    if not 1 <= size <= maximum:
        raise MarketoError("1003", detail=f"batchSize must be between 1 and {maximum}")
    return size
