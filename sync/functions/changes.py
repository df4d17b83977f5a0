"""Webhook-driven sync: the change routes and the queue trigger.

- `POST /api/changes/dataverse`: Dataverse's webhook (registered by `python -m sync
  setup-webhooks`) posts the execution context of a Create, Update or Delete; its key comes in
  the `x-sync-key` header.
- `POST /api/changes/marketo`: a Marketo webhook from a trigger campaign posts
  `{"personId": <id>}` with the shared secret in `X-Sync-Secret` (docs/setup.md).
Both check the key in constant time and put a record reference (never a value) on the change
queue: 202. A wrong key is 401, a body that is not a change notice 400, a body over
`MAX_BODY_BYTES` 413, a route whose key is not configured 503; every answer is counted for the
status page. A 503 also when the queue cannot be reached: Dataverse tries once more on 503,
and the timers reconcile the change whatever happens here.

The queue trigger drains the queue through the engine (`sync/engine/drain.py`).
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, Final

import azure.durable_functions as df
import azure.functions as func
from azure.core.exceptions import AzureError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic import SecretStr as Secret

from sync.engine.drain import drain
from sync.functions import worker
from sync.store.change_queue import ChangeRef, parse_message
from sync.store.intake import Outcome

bp = df.Blueprint()
log = logging.getLogger(__name__)
DATAVERSE_KEY_HEADER: Final = "x-sync-key"
MARKETO_SECRET_HEADER: Final = "X-Sync-Secret"  # noqa: S105 - the header's name, not a secret
# Dataverse trims a context over 256 KB to fit; anything much larger is not Dataverse.
MAX_BODY_BYTES: Final = 1024 * 1024
MESSAGES: Final = ("Create", "Update", "Delete")


class DataverseContext(BaseModel):
    """The part of Dataverse's RemoteExecutionContext the sync reads: which record, what happened."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message: str = Field(alias="MessageName")
    table: str = Field(alias="PrimaryEntityName", pattern=r"^[a-z][a-z0-9_]{0,127}$")
    id: uuid.UUID = Field(alias="PrimaryEntityId")


class MarketoNotice(BaseModel):
    """`{"personId": <id>}`; other fields a template adds are ignored (only the id is queued)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    person_id: int = Field(alias="personId", gt=0)


class Refused(Exception):
    def __init__(self, status: int, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.status, self.outcome, self.reason = status, outcome, reason


def _answer(body: dict[str, Any], status: int) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def _json_body(req: func.HttpRequest) -> Any:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, Outcome.TOO_LARGE, f"the body is {len(body):,} bytes; at most {MAX_BODY_BYTES:,}")
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, Outcome.BAD_BODY, "the body is not JSON") from None


def _check_key(req: func.HttpRequest, header: str, key: Secret) -> None:
    given = req.headers.get(header) or ""
    if not hmac.compare_digest(given.encode(), key.get_secret_value().encode()):
        raise Refused(401, Outcome.BAD_KEY, f"missing or wrong {header} header")


def _problems(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors(include_url=False))


def dataverse_ref(payload: Any) -> ChangeRef | None:
    """The record a Dataverse context names; None for a message the sync does not follow."""
    if not isinstance(payload, dict):
        raise Refused(400, Outcome.BAD_BODY, "the body must be a JSON object (Dataverse's execution context)")
    try:
        context = DataverseContext.model_validate(payload)
    except ValidationError as error:
        raise Refused(400, Outcome.BAD_BODY, f"not a Dataverse execution context: {_problems(error)}") from None
    if context.message not in MESSAGES:
        return None
    return ChangeRef(source="dataverse", table=context.table, id=str(context.id), message=context.message)


def marketo_ref(payload: Any) -> ChangeRef:
    if not isinstance(payload, dict):
        raise Refused(400, Outcome.BAD_BODY, 'the body must be a JSON object: {"personId": <id>}')
    try:
        notice = MarketoNotice.model_validate(payload)
    except ValidationError as error:
        raise Refused(400, Outcome.BAD_BODY, _problems(error)) from None
    return ChangeRef(source="marketo", table="person", id=str(notice.person_id))


def receive(
    req: func.HttpRequest, route: str, header: str, key: Secret | None, read: Callable[[Any], ChangeRef | None]
) -> func.HttpResponse:
    """Check, parse, queue, count: one change notice."""
    if key is None:
        setting = "SYNC_DATAVERSE_WEBHOOK_KEY" if route == "dataverse" else "SYNC_WEBHOOK_SECRET"
        return _answer({"error": f"the {route} change route is not configured: set {setting}"}, 503)
    try:
        store = worker.store()
        try:
            _check_key(req, header, key)
            ref = read(_json_body(req))
        except Refused as refused:
            store.intake.count(route, refused.outcome, refused.reason)
            return _answer({"error": refused.reason}, refused.status)
        if ref is None:
            store.intake.count(route, Outcome.IGNORED, "a message the sync does not follow")
            return _answer({"queued": 0}, 200)
        worker.change_queue().put([ref])
        store.intake.count(route, Outcome.QUEUED)
    except AzureError as error:
        log.warning("change route %s: the queue or store failed: %s", route, type(error).__name__)
        return _answer({"error": f"try again later: {type(error).__name__}"}, 503)
    return _answer({"queued": 1}, 202)


def dataverse_route(req: func.HttpRequest) -> func.HttpResponse:
    key = worker.settings().sync.dataverse_webhook_key
    return receive(req, "dataverse", DATAVERSE_KEY_HEADER, key, dataverse_ref)


def marketo_route(req: func.HttpRequest) -> func.HttpResponse:
    return receive(req, "marketo", MARKETO_SECRET_HEADER, worker.settings().sync.webhook_secret, marketo_ref)


ROUTES: Final[dict[str, Callable[[func.HttpRequest], func.HttpResponse]]] = {
    "changes/dataverse": dataverse_route,
    "changes/marketo": marketo_route,
}


@bp.function_name("changes_dataverse")
@bp.route(route="changes/dataverse", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def changes_dataverse(req: func.HttpRequest) -> func.HttpResponse:
    return dataverse_route(req)


@bp.function_name("changes_marketo")
@bp.route(route="changes/marketo", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def changes_marketo(req: func.HttpRequest) -> func.HttpResponse:
    return marketo_route(req)


@bp.function_name("changes_queue")
@bp.queue_trigger(arg_name="msg", queue_name="%SYNC_CHANGE_QUEUE%", connection="AzureWebJobsStorage")
def changes_queue(msg: func.QueueMessage) -> None:
    """Raises for a message that is not a change message or a drain that failed: the host tries
    again and, after maxDequeueCount, moves the message to the poison queue."""
    given = parse_message(msg.get_body().decode("utf-8", errors="replace"))
    drain(worker.engine(), worker.change_queue(), given)
