"""The change routes and the queue trigger as the worker indexes them: a notice with the right key
is queued as a reference (202), a wrong key is 401, a bad body 400, an oversized one 413, an
unconfigured route 503, and every answer is counted for the status page; the queue trigger syncs
what was queued; the CLI's listener serves the same routes over a real socket."""

from __future__ import annotations

import json
import uuid
from typing import Any

import azure.functions as func
import pytest
import requests

from sync.cli.listener import ChangeListener
from sync.engine.full_copy import full_copy
from sync.functions import worker
from sync.functions.changes import DATAVERSE_KEY_HEADER, MAX_BODY_BYTES
from sync.objects import FULL_COPY_ORDER
from sync.store.change_queue import BadChangeMessage, ChangeMessage, parse_message
from sync.store.intake import Outcome
from tests.functions_app import WEBHOOK_SECRET
from tests.functions_app import call_function as _call
from tests.functions_app import response_json as _body
from tests.sync_support import by_key

DATAVERSE_KEY = "k" * 40


@pytest.fixture
def changes_app(app: dict[str, func.Function], monkeypatch: pytest.MonkeyPatch) -> dict[str, func.Function]:
    monkeypatch.setenv("SYNC_DATAVERSE_WEBHOOK_KEY", DATAVERSE_KEY)
    worker.settings.cache_clear()
    return app


def context(table: str = "contact", record_id: str | None = None, message: str = "Update") -> dict[str, Any]:
    """Dataverse's RemoteExecutionContext, as its webhook posts it (the documented example's shape)."""
    record_id = record_id or str(uuid.uuid4())
    return {
        "BusinessUnitId": str(uuid.uuid4()),
        "CorrelationId": str(uuid.uuid4()),
        "Depth": 1,
        "InitiatingUserId": str(uuid.uuid4()),
        "InputParameters": [
            {
                "key": "Target",
                "value": {
                    "__type": "Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
                    "Attributes": [
                        {"key": "firstname", "value": "Confidential"},
                        {"key": f"{table}id", "value": record_id},
                    ],
                    "Id": record_id,
                    "LogicalName": table,
                },
            }
        ],
        "IsExecutingOffline": False,
        "IsInTransaction": False,
        "MessageName": message,
        "Mode": 1,
        "OperationCreatedOn": "/Date(1506409448000-0700)/",
        "OrganizationName": "contoso",
        "OutputParameters": [],
        "PrimaryEntityId": record_id,
        "PrimaryEntityName": table,
        "SecondaryEntityName": "none",
        "Stage": 40,
    }


def _post_dataverse(app: dict[str, func.Function], body: bytes, key: str = DATAVERSE_KEY) -> func.HttpResponse:
    headers = {DATAVERSE_KEY_HEADER: key, "x-ms-dynamics-entity-name": "contact"}
    return _call(app["changes_dataverse"], "POST", "changes/dataverse", headers=headers, body=body)


def _post_marketo(app: dict[str, func.Function], body: bytes, secret: str = WEBHOOK_SECRET) -> func.HttpResponse:
    return _call(app["changes_marketo"], "POST", "changes/marketo", headers={"X-Sync-Secret": secret}, body=body)


def _queued() -> list[ChangeMessage]:
    taken = worker.change_queue().receive(visibility_s=30)
    worker.change_queue().delete(taken)
    return [parse_message(t.text) for t in taken]


def _counts() -> dict[tuple[str, Outcome], int]:
    return {(t.route, t.outcome): t.count for t in worker.store().intake.today()}


def test_a_dataverse_notice_with_the_right_key_is_queued_as_a_reference_without_values(
    changes_app: dict[str, func.Function],
) -> None:
    record_id = str(uuid.uuid4())
    response = _post_dataverse(changes_app, json.dumps(context(record_id=record_id)).encode())
    assert (response.status_code, _body(response)) == (202, {"queued": 1})
    [message] = _queued()
    [ref] = message.refs
    assert (ref.source, ref.table, ref.id, ref.message) == ("dataverse", "contact", record_id, "Update")
    assert "Confidential" not in message.model_dump_json()
    assert _counts() == {("dataverse", Outcome.QUEUED): 1}


def test_a_wrong_or_missing_key_is_401_and_counted(changes_app: dict[str, func.Function]) -> None:
    body = json.dumps(context()).encode()
    assert _post_dataverse(changes_app, body, key="k" * 39 + "x").status_code == 401
    assert _post_dataverse(changes_app, body, key="").status_code == 401
    assert _post_marketo(changes_app, b'{"personId": 5}', secret="nope").status_code == 401
    assert _counts() == {("dataverse", Outcome.BAD_KEY): 2, ("marketo", Outcome.BAD_KEY): 1}
    assert _queued() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps({"MessageName": "Update"}).encode(), "PrimaryEntityName"),
        (json.dumps({**context(), "PrimaryEntityId": "1 or 1 eq 1"}).encode(), "PrimaryEntityId"),
        (json.dumps({**context(), "PrimaryEntityName": "contact'); drop"}).encode(), "PrimaryEntityName"),
    ],
    ids=["not-json", "not-an-object", "no-record", "id-not-a-guid", "table-not-a-name"],
)
def test_a_body_that_is_not_a_dataverse_context_is_400_naming_the_problem(
    changes_app: dict[str, func.Function], body: bytes, problem: str
) -> None:
    response = _post_dataverse(changes_app, body)
    assert response.status_code == 400 and problem in _body(response)["error"]
    assert _counts() == {("dataverse", Outcome.BAD_BODY): 1}
    assert _queued() == []


def test_an_oversized_body_is_413_and_a_message_the_sync_does_not_follow_is_200(
    changes_app: dict[str, func.Function],
) -> None:
    assert _post_dataverse(changes_app, b" " * (MAX_BODY_BYTES + 1)).status_code == 413
    retrieve = _post_dataverse(changes_app, json.dumps(context(message="Retrieve")).encode())
    assert (retrieve.status_code, _body(retrieve)) == (200, {"queued": 0})
    assert _counts() == {("dataverse", Outcome.TOO_LARGE): 1, ("dataverse", Outcome.IGNORED): 1}


def test_marketo_notices_are_queued_by_person_id_and_bad_ones_are_400(changes_app: dict[str, func.Function]) -> None:
    assert _post_marketo(changes_app, b'{"personId": 42}').status_code == 202
    for bad in (b'{"personId": -1}', b'{"personId": "x"}', b'{"id": 42}', b"42"):
        assert _post_marketo(changes_app, bad).status_code == 400
    [message] = _queued()
    assert [(r.source, r.id) for r in message.refs] == [("marketo", "42")]
    assert _counts() == {("marketo", Outcome.QUEUED): 1, ("marketo", Outcome.BAD_BODY): 4}


def test_the_dataverse_route_answers_503_until_its_key_is_configured(
    changes_app: dict[str, func.Function], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNC_DATAVERSE_WEBHOOK_KEY")
    worker.settings.cache_clear()
    response = _post_dataverse(changes_app, json.dumps(context()).encode())
    assert response.status_code == 503 and "SYNC_DATAVERSE_WEBHOOK_KEY" in _body(response)["error"]


def _trigger(app: dict[str, func.Function], text: str) -> None:
    user: Any = app["changes_queue"].get_user_function()
    user(func.QueueMessage(id="m1", body=text.encode()))


def test_the_queue_trigger_syncs_what_the_route_queued(changes_app: dict[str, func.Function]) -> None:
    engine = worker.engine()
    for obj in FULL_COPY_ORDER:
        full_copy(engine, obj)
    contact = str(engine.dataverse.client.get_json("contacts?$select=contactid&$top=1")["value"][0]["contactid"])
    table = engine.dataverse.metadata.describe("contact")
    engine.dataverse.writer.update(table, contact, {"jobtitle": "Queued"})
    assert _post_dataverse(changes_app, json.dumps(context(record_id=contact)).encode()).status_code == 202
    [message] = worker.change_queue().receive(visibility_s=30)
    _trigger(changes_app, message.text)  # the host deletes its message once the function returns
    person = by_key(engine.marketo.persons.query("dynamicsId", [contact], ["title", "dynamicsId"]), "dynamicsId")
    assert person[contact.lower()]["title"] == "Queued"


def test_the_queue_trigger_refuses_a_message_that_is_not_a_change_so_the_host_poisons_it(
    changes_app: dict[str, func.Function],
) -> None:
    with pytest.raises(BadChangeMessage):
        _trigger(changes_app, '{"hello": "world"}')


def test_the_cli_listener_serves_the_change_routes_over_a_socket(changes_app: dict[str, func.Function]) -> None:
    with ChangeListener() as listener:
        queued = requests.post(
            f"{listener.url}changes/dataverse",
            data=json.dumps(context()),
            headers={DATAVERSE_KEY_HEADER: DATAVERSE_KEY},
            timeout=10,
        )
        refused = requests.post(f"{listener.url}changes/marketo", data=b'{"personId": 1}', timeout=10)
        unknown = requests.post(f"{listener.url}nowhere", data=b"{}", timeout=10)
    assert (queued.status_code, refused.status_code, unknown.status_code) == (202, 401, 404)
    assert len(_queued()) == 1
