"""Marketo webhooks for the native sync's flow actions: sync person to Dynamics, change owner,
create task, add to and remove from a Dynamics campaign. Marketo calls them from smart campaigns
with a shared secret in the `X-Sync-Secret` header (compared in constant time); the payload is
validated before anything is done.

Answers: 200 with what was done; 400 naming what is wrong with the request (never a 500 for bad
input); 401 without the right secret; 422 when the request is sound but cannot be carried out
(the person is not linked, a lead is read-only); 503 when Dynamics, Marketo or the store fails,
or the webhooks are not configured.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import azure.durable_functions as df
import azure.functions as func
from azure.core.exceptions import AzureError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync.connectors.http.failures import ConnectorError
from sync.engine.campaign_membership import MembershipChange, add_to_campaign, remove_from_campaign
from sync.engine.flow_actions import FlowActionError, change_owner, create_task, sync_person
from sync.functions import worker

bp = df.Blueprint()
SECRET_HEADER = "X-Sync-Secret"  # noqa: S105 - the header's name, not a secret


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    person_id: int = Field(alias="personId", gt=0)


class SyncPersonRequest(_Request):
    table: Literal["lead", "contact"] = "lead"


class ChangeOwnerRequest(_Request):
    sales_person_id: str = Field(alias="salesPersonId", min_length=1, max_length=100)


class CampaignRequest(_Request):
    campaign_id: str = Field(alias="campaignId", min_length=36, max_length=38)


class CreateTaskRequest(_Request):
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    due: datetime | None = None
    key: str = Field("", max_length=200)


def _answer(body: dict[str, Any], status: int) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, default=str), status_code=status, mimetype="application/json")


def _problems(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors(include_url=False))


def handle(req: func.HttpRequest, model: type[_Request], action: Callable[[Any], dict[str, Any]]) -> func.HttpResponse:
    secret = worker.settings().sync.webhook_secret
    if secret is None:
        return _answer({"error": "webhooks are not configured: set SYNC_WEBHOOK_SECRET"}, 503)
    given = req.headers.get(SECRET_HEADER) or ""
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        return _answer({"error": f"missing or wrong {SECRET_HEADER} header"}, 401)
    try:
        payload = json.loads(req.get_body() or b"null")
    except (ValueError, UnicodeDecodeError):
        return _answer({"error": "the body is not JSON"}, 400)
    if not isinstance(payload, dict):
        return _answer({"error": "the body must be a JSON object"}, 400)
    try:
        request = model.model_validate(payload)
    except ValidationError as error:
        return _answer({"error": _problems(error)}, 400)
    try:
        return _answer(action(request), 200)
    except FlowActionError as error:
        return _answer({"error": str(error)}, 422)
    except (ConnectorError, AzureError) as error:
        return _answer({"error": f"try again later: {type(error).__name__}: {error}"}, 503)


@bp.function_name("webhook_sync_person")
@bp.route(route="sync/person", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def webhook_sync_person(req: func.HttpRequest) -> func.HttpResponse:
    def act(request: SyncPersonRequest) -> dict[str, Any]:
        done = sync_person(worker.engine(), request.person_id, request.table)
        return {"personId": done.marketo_id, "table": done.dynamics.table, "id": done.dynamics.id, "how": done.how}

    return handle(req, SyncPersonRequest, act)


@bp.function_name("webhook_change_owner")
@bp.route(route="sync/owner", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def webhook_change_owner(req: func.HttpRequest) -> func.HttpResponse:
    def act(request: ChangeOwnerRequest) -> dict[str, Any]:
        ref = change_owner(worker.engine(), request.person_id, request.sales_person_id)
        return {"personId": request.person_id, "table": ref.table, "id": ref.id, "owner": request.sales_person_id}

    return handle(req, ChangeOwnerRequest, act)


@bp.function_name("webhook_create_task")
@bp.route(route="sync/task", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def webhook_create_task(req: func.HttpRequest) -> func.HttpResponse:
    def act(request: CreateTaskRequest) -> dict[str, Any]:
        task = create_task(
            worker.engine(),
            request.person_id,
            request.subject,
            description=request.description,
            due=request.due,
            key=request.key,
        )
        return {"personId": request.person_id, "taskId": task}

    return handle(req, CreateTaskRequest, act)


def _membership(change: MembershipChange) -> dict[str, Any]:
    return {
        "personId": change.person_id,
        "campaignId": change.campaign_id,
        "table": change.record.table,
        "id": change.record.id,
        "listId": change.list_id,
        "done": change.done,
    }


@bp.function_name("webhook_campaign_add")
@bp.route(route="sync/campaign/add", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def webhook_campaign_add(req: func.HttpRequest) -> func.HttpResponse:
    def act(request: CampaignRequest) -> dict[str, Any]:
        return _membership(add_to_campaign(worker.engine(), request.person_id, request.campaign_id))

    return handle(req, CampaignRequest, act)


@bp.function_name("webhook_campaign_remove")
@bp.route(route="sync/campaign/remove", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def webhook_campaign_remove(req: func.HttpRequest) -> func.HttpResponse:
    def act(request: CampaignRequest) -> dict[str, Any]:
        return _membership(remove_from_campaign(worker.engine(), request.person_id, request.campaign_id))

    return handle(req, CampaignRequest, act)
