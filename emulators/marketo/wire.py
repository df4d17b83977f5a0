"""Marketo on HTTP: an envelope as a response, `_method=GET` overrides, query and JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.marketo.envelopes import MarketoError


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


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise MarketoError("609") from None
    if not isinstance(body, dict):
        raise MarketoError("609")
    return body
