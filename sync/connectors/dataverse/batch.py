"""$batch on the client side: build a multipart/mixed request of independent operations and read
each operation's response back (the stdlib email parser reads the multipart envelope)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

from sync.connectors.dataverse.client import DataverseClient

MAX_OPERATIONS = 1000


@dataclass(frozen=True)
class BatchOperation:
    method: str
    path: str  # relative to the API root, e.g. "contacts(<guid>)"
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchAnswer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def error(self) -> tuple[str, str]:
        error = (self.body or {}).get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))


def build(operations: list[BatchOperation], api: str, boundary: str) -> bytes:
    lines: list[str] = []
    for op in operations:
        lines += [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"{op.method} {api}{op.path} HTTP/1.1",
            "Content-Type: application/json; type=entry",
        ]
        lines += [f"{k}: {v}" for k, v in op.headers.items()]
        lines += ["", json.dumps(op.body) if op.body is not None else ""]
    lines.append(f"--{boundary}--")
    return ("\r\n".join(lines) + "\r\n").encode()


def _answer(raw: bytes) -> BatchAnswer:
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    status_line, *header_lines = head.decode().split("\n")
    headers = {k.strip(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if ":" in h)}
    text = body.strip()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = {"error": {"code": "", "message": text.decode(errors="replace")[:300]}}
    return BatchAnswer(int(status_line.split()[1]), headers, parsed)


def parse(content_type: str, body: bytes) -> list[BatchAnswer]:
    message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=policy.HTTP)
    answers = []
    for part in message.iter_parts():
        if part.get_content_type() == "multipart/mixed":  # a change set's answers
            answers += [_answer(bytes(p.get_payload(decode=True) or b"")) for p in part.iter_parts()]
        else:
            answers.append(_answer(bytes(part.get_payload(decode=True) or b"")))
    return answers


def run(client: DataverseClient, operations: list[BatchOperation], continue_on_error: bool = True) -> list[BatchAnswer]:
    if len(operations) > MAX_OPERATIONS:
        raise ValueError(f"a $batch holds at most {MAX_OPERATIONS} operations; got {len(operations)}")
    boundary = f"batch_{uuid.uuid4()}"
    response = client.request(
        "POST",
        "$batch",
        data=build(operations, client.api, boundary),
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
        prefer=["odata.continue-on-error"] if continue_on_error else None,
    )
    return parse(response.headers.get("Content-Type", ""), response.content)
