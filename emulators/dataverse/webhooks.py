"""Webhook delivery, as Dataverse's asynchronous service does it
(../shared/reference/dataverse-webhooks.md §4-5): after a write commits, every enabled
post-operation step registered for its message and table (an Update only when a column of the
step's `filteringattributes` was set) gets a system job; the job posts the execution context
(RemoteExecutionContext JSON, with the `x-ms-dynamics-*` headers and the endpoint's
authentication) to the endpoint's URL, waits up to 60 s, tries once more on 502, 503 or 504 only,
and is recorded as an `asyncoperation` (Succeeded 30 / Failed 31; a succeeded one deleted when
the step says `asyncautodelete`). A context over 256 KB loses its parameters and images and
carries `x-ms-dynamics-msg-size-exceeded`.

Jobs run on one worker thread in commit order, each the async service's pick-up delay after its
commit (the `async_job` latency; none without a latency profile): a delay, not a rate, since the
service runs system jobs "as soon as resources are available" (Microsoft Learn, Asynchronous
service), so a hundred records written at once are announced together about one delay later.
Nothing is delivered for a write rolled back. A job whose endpoint cannot be reached fails;
Dataverse does not retry it further.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import requests

from emulators.common.background import BackgroundJobs
from emulators.dataverse.models import Committed, Row, iso
from emulators.dataverse.plugin_registration import ASYNCHRONOUS, OWN, POST_OPERATION, WEBHOOK_CONTRACT

if TYPE_CHECKING:
    from emulators.dataverse.core import DataverseCore

TIMEOUT_S: Final = 60.0
RETRIED: Final = frozenset({502, 503, 504})
MAX_PAYLOAD: Final = 256 * 1024
TRIMMED: Final = ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages")
AUTH_WEBHOOK_KEY, AUTH_HTTP_HEADER, AUTH_QUERY_STRING = 4, 5, 6
_ENTITY: Final = "Entity:http://schemas.microsoft.com/xrm/2011/Contracts"
_REFERENCE: Final = "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts"


@dataclass(frozen=True)
class Delivery:
    step_id: str
    auto_delete: bool
    url: str
    headers: dict[str, str]
    params: dict[str, str]
    body: bytes
    table: str
    message: str
    correlation: str


def _settings(value: str) -> dict[str, str]:
    """`<settings><setting name="K" value="V" /></settings>`: the HttpHeader / HttpQueryString pairs."""
    try:
        root = ET.fromstring(value)  # noqa: S314 - written through our own Web API by the test's client
    except ET.ParseError:
        return {}
    return {s.get("name", ""): s.get("value", "") for s in root.iter("setting") if s.get("name")}


def _wcf_date(text: Any) -> Any:
    """Dates go out as WCF JSON dates, `/Date(ms)/`, as the documented example shows."""
    if isinstance(text, str) and len(text) >= 19 and text[4] == "-" and "T" in text:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        return f"/Date({int(moment.timestamp() * 1000)})/"
    return text


def _value(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2:
        table, record_id = value
        return {"__type": _REFERENCE, "Id": record_id, "KeyAttributes": [], "LogicalName": table, "Name": None}
    return _wcf_date(value)


def context(org_name: str, event: Committed, step_id: str, user: str, correlation: str, now: str) -> dict[str, Any]:
    """The RemoteExecutionContext of one committed write, for one step."""
    if event.message == "Delete":
        target: dict[str, Any] = {"__type": _REFERENCE, "Id": event.record_id, "LogicalName": event.table}
    else:
        target = {
            "__type": _ENTITY,
            "Attributes": [{"key": k, "value": _value(v)} for k, v in event.attributes.items()],
            "EntityState": None,
            "FormattedValues": [],
            "Id": event.record_id,
            "KeyAttributes": [],
            "LogicalName": event.table,
            "RelatedEntities": [],
            "RowVersion": None,
        }
    return {
        "BusinessUnitId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bu:{org_name}")),
        "CorrelationId": correlation,
        "Depth": 1,
        "InitiatingUserId": user,
        "InputParameters": [{"key": "Target", "value": target}],
        "IsExecutingOffline": False,
        "IsInTransaction": False,
        "IsOfflinePlayback": False,
        "IsolationMode": 1,
        "MessageName": event.message,
        "Mode": ASYNCHRONOUS,
        "OperationCreatedOn": _wcf_date(now),
        "OperationId": str(uuid.uuid4()),
        "OrganizationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"org:{org_name}")),
        "OrganizationName": org_name,
        "OutputParameters": [{"key": "id", "value": event.record_id}] if event.message == "Create" else [],
        "OwningExtension": {
            "Id": step_id,
            "KeyAttributes": [],
            "LogicalName": "sdkmessageprocessingstep",
            "Name": None,
            "RowVersion": None,
        },
        "ParentContext": None,
        "PostEntityImages": [],
        "PreEntityImages": [],
        "PrimaryEntityId": event.record_id,
        "PrimaryEntityName": event.table,
        "RequestId": None,
        "SecondaryEntityName": "none",
        "SharedVariables": [],
        "Stage": POST_OPERATION,
        "UserId": user,
    }


class WebhookDispatcher:
    def __init__(self, service: DataverseCore) -> None:
        self.service = service
        self.jobs: BackgroundJobs[Delivery] = BackgroundJobs("dataverse-async-service", self._deliver)

    # matching (under the service's lock: called by the writer as its transaction commits)

    def on_commit(self, events: list[Committed]) -> None:
        org = self.service.org
        steps = org.tables["sdkmessageprocessingstep"].rows
        if not steps:
            return
        for event in events:
            if event.table in OWN:
                continue
            for step in steps.values():
                delivery = self._delivery(step, event)
                if delivery is not None:
                    self._enqueue(delivery)

    def _delivery(self, step: Row, event: Committed) -> Delivery | None:
        org = self.service.org
        if step.get("statecode", 0) != 0 or step.get("stage") != POST_OPERATION or step.get("mode") != ASYNCHRONOUS:
            return None
        message = org.get("sdkmessage", step["sdkmessageid"][1])
        if message is None or message["name"] != event.message:
            return None
        fltr = org.get("sdkmessagefilter", step["sdkmessagefilterid"][1]) if step.get("sdkmessagefilterid") else None
        if fltr is not None and fltr.get("primaryobjecttypecode") != event.table:
            return None
        watched = {c.strip() for c in str(step.get("filteringattributes") or "").split(",") if c.strip()}
        if event.message == "Update" and watched and not watched & set(event.attributes):
            return None
        kind, handler_id = step["eventhandler"]
        endpoint = org.get(kind, handler_id) if kind == "serviceendpoint" else None
        if endpoint is None or endpoint.get("contract") != WEBHOOK_CONTRACT:
            return None
        return self._build(step, endpoint, event)

    def _build(self, step: Row, endpoint: Row, event: Committed) -> Delivery:
        base = urlsplit(self.service.base_url or "https://org.crm.dynamics.com")
        org_name = (base.hostname or "org").split(".")[0]
        correlation = str(uuid.uuid4())
        step_id = str(step["sdkmessageprocessingstepid"])
        now = iso(self.service.clock.now_datetime())
        body = context(org_name, event, step_id, event.caller or self.service.app_user_id, correlation, now)
        headers = {
            "Content-Type": "application/json",
            "x-ms-dynamics-organization": (base.hostname or "").lower(),
            "x-ms-dynamics-entity-name": event.table,
            "x-ms-dynamics-request-name": event.message,
            "x-ms-correlation-request-id": correlation,
        }
        encoded = json.dumps(body).encode()
        if len(encoded) > MAX_PAYLOAD:
            trimmed = {k: (None if k == "ParentContext" else []) if k in TRIMMED else v for k, v in body.items()}
            encoded = json.dumps(trimmed).encode()
            headers["x-ms-dynamics-msg-size-exceeded"] = "true"
        params: dict[str, str] = {}
        auth, value = endpoint.get("authtype"), str(endpoint.get("authvalue") or "")
        if auth == AUTH_HTTP_HEADER:
            headers.update(_settings(value))
        elif auth == AUTH_QUERY_STRING:
            params.update(_settings(value))
        elif auth == AUTH_WEBHOOK_KEY:
            params["code"] = value
        return Delivery(
            step_id,
            bool(step.get("asyncautodelete")),
            str(endpoint["url"]),
            headers,
            params,
            encoded,
            event.table,
            event.message,
            correlation,
        )

    # the asynchronous service

    def _enqueue(self, delivery: Delivery) -> None:
        self.jobs.put(delivery, delay_s=self.service.latency_s("async_job"))  # picked up that long after commit

    def _deliver(self, job: Delivery) -> None:
        status, error = self._post(job)
        self._record(job, status, error)

    def _post(self, job: Delivery) -> tuple[int | None, str]:
        status: int | None = None
        for _ in range(2):  # one more attempt on 502, 503 and 504 only
            try:
                answer = requests.post(
                    job.url, data=job.body, headers=job.headers, params=job.params, timeout=TIMEOUT_S
                )
            except requests.RequestException as exc:
                return None, f"The webhook call failed: {type(exc).__name__}."
            status = answer.status_code
            if status not in RETRIED:
                break
        if status is not None and 200 <= status < 300:
            return status, ""
        return status, f"The webhook call failed because of an error: the endpoint answered {status}."

    def _record(self, job: Delivery, status: int | None, error: str) -> None:
        succeeded = not error
        if succeeded and job.auto_delete:
            return
        values: Row = {
            "name": f"Webhook: {job.message} of {job.table}",
            "operationtype": 1,
            "messagename": job.message,
            "primaryentitytype": job.table,
            "owningextensionid": ("sdkmessageprocessingstep", job.step_id),
            "correlationid": job.correlation,
            "statecode": 3,
            "statuscode": 30 if succeeded else 31,
            "message": error or None,
            "friendlymessage": error or None,
            "errorcode": None if succeeded else -2147220970,
            "completedon": iso(self.service.clock.now_datetime()),
        }
        with self.service.lock:
            self.service.org.create("asyncoperation", values, None)
