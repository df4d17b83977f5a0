"""$batch: multipart/mixed requests, change sets that succeed or fail as one, Content-ID
references ($1) inside a change set, and odata.continue-on-error."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from emulators.dataverse.wire import bad_request, error_reply, parse_prefer

RunInner = Callable[[str, str, dict[str, str], bytes], Response]
"""One inner request (method, URL, headers, body) answered as if it came on its own."""

MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_REFERENCE = re.compile(r"\$(\d+)\b")
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


@dataclass
class InnerRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    requests: list[InnerRequest] = field(default_factory=list)


class _ChangeSetFailed(Exception):
    def __init__(self, response: Response, content_id: str | None) -> None:
        self.response, self.content_id = response, content_id


def boundary_of(content_type: str) -> str | None:
    match = _BOUNDARY.search(content_type)
    return match.group(1) if match else None


def _split(body: str, boundary: str) -> list[str]:
    sections = re.split(rf"(?:\r?\n)?--{re.escape(boundary)}", body)
    parts = []
    for section in sections[1:]:
        if section.startswith("--"):
            break
        parts.append(section.lstrip("\r\n"))
    return parts


def _headers_and_rest(text: str) -> tuple[dict[str, str], str]:
    blank = re.search(r"\r?\n\r?\n", text)
    head, rest = (text, "") if blank is None else (text[: blank.start()], text[blank.end() :])
    headers = {}
    for line in head.splitlines():
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _inner(part: str) -> InnerRequest:
    part_headers, http = _headers_and_rest(part)
    request_line, _, remainder = http.partition("\n")
    pieces = request_line.strip().split(" ")
    if len(pieces) < 2:
        raise bad_request(f"A batch part does not start with an HTTP request line: '{request_line.strip()[:80]}'.")
    headers, body = _headers_and_rest(remainder)
    return InnerRequest(
        pieces[0].upper(), pieces[1], headers, body.rstrip("\r\n").encode(), part_headers.get("content-id")
    )


def parse(body: str, boundary: str) -> list[InnerRequest | ChangeSet]:
    items: list[InnerRequest | ChangeSet] = []
    for part in _split(body, boundary):
        headers, rest = _headers_and_rest(part)
        inner_boundary = boundary_of(headers.get("content-type", ""))
        if headers.get("content-type", "").startswith("multipart/mixed") and inner_boundary:
            items.append(ChangeSet([_inner(p) for p in _split(rest, inner_boundary)]))
        else:
            items.append(_inner(part))
    return items


def _http_part(response: Response, content_id: str | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    status = response.status_code
    lines += ["", f"HTTP/1.1 {status} {_REASONS.get(status, '')}".rstrip()]
    for name, value in response.headers.items():
        if name.lower() not in ("content-length",):
            lines.append(f"{name}: {value}")
    lines += ["", response.get_data(as_text=True)]
    return "\r\n".join(lines)


def execute(request: Request, run_inner: RunInner, atomic: Callable[[], AbstractContextManager[object]]) -> Response:
    """`atomic` holds the service's state for a change set, which succeeds or fails as one."""
    boundary = boundary_of(request.headers.get("Content-Type", ""))
    if not request.headers.get("Content-Type", "").startswith("multipart/mixed") or boundary is None:
        return error_reply(bad_request("A $batch request needs Content-Type: multipart/mixed; boundary=batch_<id>."))
    items = parse(request.get_data(as_text=True), boundary)
    count = sum(len(i.requests) if isinstance(i, ChangeSet) else 1 for i in items)
    if count > MAX_REQUESTS:
        return error_reply(
            bad_request(f"The number of requests in the batch ({count}) exceeds the limit of {MAX_REQUESTS}.")
        )
    continue_on_error = parse_prefer(request.headers.get("Prefer")).continue_on_error
    out = f"batchresponse_{uuid.uuid4()}"
    parts: list[str] = []
    for item in items:
        if isinstance(item, InnerRequest):
            response = run_inner(item.method, item.url, item.headers, item.body)
            parts.append(_http_part(response))
            failed = response.status_code >= 400
        else:
            inner_boundary = f"changesetresponse_{uuid.uuid4()}"
            try:
                parts.append(_run_changeset(item, run_inner, atomic, inner_boundary))
                failed = False
            except _ChangeSetFailed as failure:
                parts.append(_http_part(failure.response, failure.content_id))
                failed = True
        if failed and not continue_on_error:
            break
    body = "".join(f"--{out}\r\n{p}\r\n" for p in parts) + f"--{out}--\r\n"
    return Response(body, status=200, headers={"OData-Version": "4.0"}, content_type=f"multipart/mixed; boundary={out}")


def _run_changeset(
    changeset: ChangeSet, run_inner: RunInner, atomic: Callable[[], AbstractContextManager[object]], boundary: str
) -> str:
    references: dict[str, str] = {}
    answered: list[tuple[Response, str | None]] = []

    def resolve(text: str) -> str:
        return _REFERENCE.sub(lambda m: references.get(m.group(1), m.group(0)), text)

    with atomic():
        for inner in changeset.requests:
            url = resolve(inner.url)
            body = resolve(inner.body.decode()).encode()
            response = run_inner(inner.method, url, inner.headers, body)
            if response.status_code >= 400:
                raise _ChangeSetFailed(response, inner.content_id)
            location = response.headers.get("OData-EntityId")
            if inner.content_id and location:
                references[inner.content_id] = "/" + location.split("/api/data/v9.2/", 1)[-1]
            answered.append((response, inner.content_id))
    inner_parts = "".join(f"--{boundary}\r\n{_http_part(r, cid)}\r\n" for r, cid in answered)
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner_parts}--{boundary}--"
