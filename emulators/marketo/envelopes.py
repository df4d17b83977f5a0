"""Marketo's envelopes, as data: the HTTP-200 body with `success`, response-level errors,
record-level reasons, request ids, and the rules on the parameters every endpoint shares
(`input` arrays, batch sizes, comma lists). No web framework: the backend's rules raise and
return these; `wire` puts them on HTTP."""

from __future__ import annotations

import secrets
import time
from typing import Any

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


def list_param(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


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
