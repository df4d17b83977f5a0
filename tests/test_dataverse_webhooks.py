"""Dataverse webhooks end to end: `setup-webhooks` registers the service endpoint and its steps
through the Web API, idempotently and reversibly; the emulator posts the documented execution
context after commit (headers, key, only for watched columns, never for a rollback), retries
once on 503 only and records failures as system jobs; and a change made in Dynamics crosses to
Marketo through the CLI's change route, the queue and the drain, without a timer run."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import azure.functions as func
import pytest
import requests

from emulators.launch import RunningEmulator
from sync.cli.listener import ChangeListener
from sync.connectors.dataverse.webhook_registration import ENDPOINT_NAME, WebhookRegistration
from sync.engine.changes import watched_columns
from sync.engine.drain import drain_all
from sync.engine.full_copy import full_copy
from sync.functions import worker
from sync.objects import FULL_COPY_ORDER
from sync.store.intake import Outcome
from tests.sync_support import World, by_key

KEY = "w" * 40


class Receiver:
    """An endpoint that records what it is posted and answers with the next planned status."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses = statuses or []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": json.loads(body)}
                )
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/changes/dataverse"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world()


def _idle(emulator: RunningEmulator) -> None:
    assert emulator.service.webhooks.jobs.idle(30), "the emulator's async service did not finish its jobs"  # type: ignore[attr-defined]


def _register(world: World, url: str) -> Any:
    return WebhookRegistration(world.engine.dataverse.client).register(url, KEY, watched_columns(world.engine))


def test_registration_is_idempotent_and_reversible_and_the_key_is_never_read_back(
    world: World, receiver: Receiver
) -> None:
    first = _register(world, receiver.url)
    client = world.engine.dataverse.client
    steps = client.get_json("sdkmessageprocessingsteps", params={"$select": "name,filteringattributes,mode,stage"})[
        "value"
    ]
    names = {s["name"] for s in steps}
    assert {"Dynamics Marketo Sync: Update of contact", "Dynamics Marketo Sync: Delete of lead"} <= names
    assert all((s["mode"], s["stage"]) == (1, 40) for s in steps)
    update = next(s for s in steps if s["name"] == "Dynamics Marketo Sync: Update of contact")
    assert {"lastname", "emailaddress1", "parentcustomerid"} <= set(update["filteringattributes"].split(","))
    assert "modifiedon" not in update["filteringattributes"]
    assert first.created and first.unsupported == ["teammembership"]
    members = {n for n in names if n.endswith(" of listmember")}  # a list member is never updated: no step for it
    assert members == {"Dynamics Marketo Sync: Create of listmember", "Dynamics Marketo Sync: Delete of listmember"}
    [endpoint] = client.get_json("serviceendpoints", params={"$filter": f"name eq '{ENDPOINT_NAME}'"})["value"]
    assert "authvalue" not in endpoint and endpoint["isauthvalueset"] is True and KEY not in json.dumps(endpoint)

    again = _register(world, receiver.url)
    assert not again.changed
    assert len(client.get_json("sdkmessageprocessingsteps")["value"]) == len(steps)

    moved = _register(world, receiver.url.replace("/api/", "/api/v2/"))
    assert moved.updated == [f"service endpoint {ENDPOINT_NAME!r} → {receiver.url.replace('/api/', '/api/v2/')}"]

    removed = WebhookRegistration(client).unregister()
    assert len(removed.deleted) == len(steps) + 1
    assert client.get_json("sdkmessageprocessingsteps")["value"] == []
    assert client.get_json("serviceendpoints")["value"] == []
    assert WebhookRegistration(client).unregister().deleted == []


def test_dataverse_posts_the_documented_context_after_commit_with_the_key_header(
    world: World, receiver: Receiver
) -> None:
    _register(world, receiver.url)
    contact = world.create("contact", {"lastname": "Posted", "emailaddress1": "posted@example.com"})
    world.update("contact", contact, {"jobtitle": "Watched"})
    watched = watched_columns(world.engine)["contact"]
    unsynced = next(c for c in ("fax", "salutation", "middlename", "description") if c not in watched)
    world.update("contact", contact, {unsynced: "not a synced column"})
    world.delete("contact", contact)
    _idle(world.dataverse)
    seen = [(p["headers"]["x-ms-dynamics-request-name"], p["body"]["PrimaryEntityId"]) for p in receiver.posts]
    assert seen == [("Create", contact), ("Update", contact), ("Delete", contact)]  # not the unwatched update
    update = receiver.posts[1]
    assert update["headers"]["x-sync-key"] == KEY
    assert update["headers"]["x-ms-dynamics-entity-name"] == "contact"
    assert update["headers"]["x-ms-correlation-request-id"] == update["body"]["CorrelationId"]
    body = update["body"]
    assert (body["MessageName"], body["PrimaryEntityName"], body["Stage"], body["Mode"]) == ("Update", "contact", 40, 1)
    target = body["InputParameters"][0]["value"]
    assert {a["key"] for a in target["Attributes"]} == {"jobtitle"}
    assert body["OperationCreatedOn"].startswith("/Date(")


def test_nothing_is_posted_for_a_change_set_rolled_back(world: World, receiver: Receiver) -> None:
    _register(world, receiver.url)
    service: Any = world.dataverse.service

    def failing_change_set() -> None:
        with service.change_set():
            service.org.create("contact", {"lastname": "Never"}, None)
            raise RuntimeError("the change set's second request fails")

    with pytest.raises(RuntimeError):
        failing_change_set()
    _idle(world.dataverse)
    assert receiver.posts == []


@pytest.mark.parametrize(("statuses", "posts", "outcome"), [([503, 200], 2, None), ([500], 1, 31), ([503, 503], 2, 31)])
def test_a_failed_post_is_tried_once_more_on_503_only_and_recorded_as_a_failed_system_job(
    world: World, statuses: list[int], posts: int, outcome: int | None
) -> None:
    receiver = Receiver(statuses)
    try:
        _register(world, receiver.url)
        world.create("account", {"name": "Retried"})
        _idle(world.dataverse)
        assert len(receiver.posts) == posts
        jobs = world.engine.dataverse.client.get_json("asyncoperations", params={"$select": "statuscode,message"})
        assert [j["statuscode"] for j in jobs["value"]] == ([outcome] if outcome else [])  # succeeded: auto-deleted
    finally:
        receiver.close()


def test_a_webhook_on_a_port_other_than_80_or_443_is_refused_unless_on_loopback(world: World) -> None:
    client = world.engine.dataverse.client
    body = {
        "name": "x",
        "contract": 8,
        "url": "https://example.com:8443/hook",
        "authtype": 5,
        "authvalue": "<settings/>",
    }
    answer = requests.post(
        client.url("serviceendpoints"),
        json=body,
        headers={"Authorization": f"Bearer {client.token.get()}"},
        verify=world.dataverse.info["ca_file"],
        timeout=10,
    )
    assert answer.status_code == 400 and "only port 80 for HTTP and port 443" in answer.text


def test_a_dynamics_edit_crosses_to_marketo_by_webhook_through_the_cli_route_and_the_queue(
    app: dict[str, func.Function],
    app_emulators: tuple[RunningEmulator, RunningEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNC_DATAVERSE_WEBHOOK_KEY", KEY)
    worker.settings.cache_clear()
    engine = worker.engine()
    for obj in FULL_COPY_ORDER:
        full_copy(engine, obj)
    with ChangeListener() as listener:
        WebhookRegistration(engine.dataverse.client).register(
            f"{listener.url}changes/dataverse", KEY, watched_columns(engine)
        )
        contact = str(engine.dataverse.client.get_json("contacts?$select=contactid&$top=1")["value"][0]["contactid"])
        engine.dataverse.writer.update(
            engine.dataverse.metadata.describe("contact"), contact, {"jobtitle": "By Webhook"}
        )
        _idle(app_emulators[0])
    [drained] = drain_all(engine, worker.change_queue())
    assert drained.result.total().written == 1
    person = by_key(engine.marketo.persons.query("dynamicsId", [contact], ["title", "dynamicsId"]), "dynamicsId")
    assert person[contact.lower()]["title"] == "By Webhook"
    assert {(t.route, t.outcome): t.count for t in worker.store().intake.today()} == {("dataverse", Outcome.QUEUED): 1}
