"""The Functions app as the worker sees it: indexed the way the worker indexes it (every function,
binding, route and auth level), then its timers and HTTP handlers called with the Functions
types against the emulators and Azurite. The Durable client is the one stand-in: it needs the
Functions host, which cannot run here."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from demo.dynamics_user import DynamicsUser
from emulators.launch import RunningEmulator
from sync.engine.full_copy import full_copy
from sync.functions import worker
from sync.objects import FULL_COPY_ORDER, Direction, SyncObject
from sync.setting_problems import SettingsError
from sync.settings import schedule_setting
from sync.store import SyncStore
from tests.emulator_support import control, route_count
from tests.functions_app import WEBHOOK_SECRET, DurableClientStandIn, import_function_app
from tests.functions_app import call_function as _call
from tests.functions_app import response_json as _body


def _bindings(fn: func.Function) -> dict[str, dict[str, Any]]:
    return {b["type"]: b for b in json.loads(fn.get_function_json())["bindings"]}


ROUTES = {
    "sync_status": ("sync/status", "GET", "FUNCTION", False),
    "sync_dashboard": ("sync/dashboard", "GET", "FUNCTION", False),
    "sync_errors": ("sync/errors", "GET", "FUNCTION", False),
    "sync_errors_retry": ("sync/errors/retry", "POST", "FUNCTION", False),
    "sync_full_copy": ("sync/full-copy", "POST", "FUNCTION", True),
    "sync_preview": ("sync/preview", "GET", "FUNCTION", False),
    "sync_resync_field": ("sync/resync-field", "POST", "FUNCTION", True),
    "sync_pause": ("sync/pause", "POST", "FUNCTION", False),
    "sync_resume": ("sync/resume", "POST", "FUNCTION", True),
    "webhook_sync_person": ("sync/person", "POST", "ANONYMOUS", False),
    "webhook_change_owner": ("sync/owner", "POST", "ANONYMOUS", False),
    "webhook_create_task": ("sync/task", "POST", "ANONYMOUS", False),
    "webhook_campaign_add": ("sync/campaign/add", "POST", "ANONYMOUS", False),
    "webhook_campaign_remove": ("sync/campaign/remove", "POST", "ANONYMOUS", False),
    "changes_dataverse": ("changes/dataverse", "POST", "ANONYMOUS", False),
    "changes_marketo": ("changes/marketo", "POST", "ANONYMOUS", False),
}


def test_the_worker_indexes_every_function_with_its_trigger_route_and_auth(app: dict[str, func.Function]) -> None:
    timers = {f"timer_{o.value}" for o in FULL_COPY_ORDER}
    durable = {"full_copy", "full_copy_object", "full_copy_preview", "resync_field"}
    durable |= {"begin_full_copy", "copy_page", "resync_page", "preview_object"}
    assert set(app) == set(ROUTES) | timers | durable | {"changes_queue"}
    for name, (route, method, auth, uses_client) in ROUTES.items():
        bindings = _bindings(app[name])
        trigger = bindings["httpTrigger"]
        assert (trigger["route"], [m.upper() for m in trigger["methods"]], trigger["authLevel"].upper()) == (
            route,
            [method],
            auth,
        )
        assert ("durableClient" in bindings) is uses_client
    for obj in FULL_COPY_ORDER:
        bindings = _bindings(app[f"timer_{obj.value}"])
        timer = bindings["timerTrigger"]
        assert (timer["schedule"], timer["runOnStartup"], timer["useMonitor"]) == (
            f"%{schedule_setting(obj)}%",
            False,
            True,
        )
        assert "durableClient" in bindings
    for name in ("full_copy", "full_copy_object", "full_copy_preview", "resync_field"):
        assert "orchestrationTrigger" in _bindings(app[name])
    for name in ("begin_full_copy", "copy_page", "resync_page", "preview_object"):
        assert "activityTrigger" in _bindings(app[name])
    queue = _bindings(app["changes_queue"])["queueTrigger"]
    assert (queue["queueName"], queue["connection"]) == ("%SYNC_CHANGE_QUEUE%", "AzureWebJobsStorage")


def test_a_bad_configuration_stops_indexing_with_every_problem_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATAVERSE_URL",
        "MARKETO_BASE_URL",
        "MARKETO_CLIENT_ID",
        "SYNC_STORAGE_CONNECTION",
        "AzureWebJobsStorage",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        "MARKETO_CLIENT_SECRET", "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/mkto)"
    )
    with pytest.raises(SettingsError) as raised:
        import_function_app()
    message = str(raised.value)
    for name in ("DATAVERSE_URL", "MARKETO_BASE_URL", "MARKETO_CLIENT_ID", "SYNC_STORAGE_CONNECTION"):
        assert f"{name}: is missing" in message
    assert "MARKETO_CLIENT_SECRET: is an unresolved Key Vault reference" in message


def _tick(app: dict[str, func.Function], obj: SyncObject, client: DurableClientStandIn) -> None:
    timer = TimerRequest(past_due=False)
    user: Any = app[f"timer_{obj.value}"].get_user_function()
    asyncio.run(user.__wrapped__(timer, client=client))


def test_a_timer_starts_the_full_copy_of_an_object_that_has_none_once(app: dict[str, func.Function]) -> None:
    client = DurableClientStandIn()
    _tick(app, SyncObject.ACCOUNT, client)
    _tick(app, SyncObject.ACCOUNT, client)  # the copy is under way: not started twice
    request = {"object": "account", "again": False, "path": "auto"}
    assert client.started == [("full_copy_object", "full-copy-account", request)]


def test_a_timer_runs_one_incremental_run_and_records_it(app: dict[str, func.Function]) -> None:
    engine = worker.engine()
    full_copy(engine, SyncObject.ACCOUNT)
    account = DynamicsUser(engine.dataverse.client).create(engine.tables["account"], {"name": "Timer Ltd"})
    _tick(app, SyncObject.ACCOUNT, DurableClientStandIn())
    (run,) = engine.store.runs.recent(SyncObject.ACCOUNT, Direction.DYNAMICS_TO_MARKETO, limit=1)
    assert (run.outcome.value, run.read, run.written) == ("succeeded", 1, 1)
    assert account


def test_full_copy_endpoint_starts_singletons_and_names_bad_parameters(app: dict[str, func.Function]) -> None:
    client = DurableClientStandIn()
    started = _call(app["sync_full_copy"], "POST", "sync/full-copy", client, params={"object": "contact"})
    again = _call(app["sync_full_copy"], "POST", "sync/full-copy", client, params={"object": "contact"})
    assert (started.status_code, _body(started)["instance_id"], _body(started)["started"]) == (
        202,
        "full-copy-contact",
        True,
    )
    assert _body(again) == {"instance_id": "full-copy-contact", "started": False, "reason": "already under way"}
    everything = _call(app["sync_full_copy"], "POST", "sync/full-copy", client, params={"again": "true"})
    assert _body(everything)["reason"] == "already copying: contact"
    bad = _call(app["sync_full_copy"], "POST", "sync/full-copy", client, params={"again": "perhaps"})
    assert (bad.status_code, _body(bad)["error"]) == (
        400,
        "again='perhaps'; use again=true or again=false, or leave it out",
    )


def test_a_dry_run_starts_the_preview_whose_report_and_page_the_preview_endpoint_serves(
    app: dict[str, func.Function], app_emulators: tuple[RunningEmulator, RunningEmulator]
) -> None:
    client = DurableClientStandIn()
    params = {"dry_run": "true", "object": "contact"}
    started = _call(app["sync_full_copy"], "POST", "sync/full-copy", client, params=params)
    assert started.status_code == 202 and _body(started)["started"] is True
    assert client.started == [("full_copy_preview", "preview-full-copy", {"objects": ["contact"]})]
    again = _call(app["sync_full_copy"], "POST", "sync/full-copy", client, params=params)
    assert _body(again)["reason"] == "already under way"
    bad = _call(app["sync_full_copy"], "POST", "sync/full-copy", client, params={"dry_run": "true", "again": "true"})
    assert bad.status_code == 400 and "again=true does not apply" in _body(bad)["error"]

    activity: Any = app["preview_object"].get_user_function()
    worker.engine()  # started as the worker starts it (which makes the sync's own Marketo fields)
    writes = int(control(app_emulators[1], "GET", "stats").get("writes", 0))
    assert activity({"object": "contact"}) == {"object": "contact", "complete": True, "read": 3, "eta_s": 0.0}
    assert activity({"object": "person"})["skipped"] == "no Dynamics table is read for it"
    report = _body(_call(app["sync_preview"], "GET", "sync/preview"))
    contact = report["objects"]["contact"]
    assert (contact["state"], contact["read"], contact["would_create"]) == ("done", 3, 3)
    page = _call(app["sync_preview"], "GET", "sync/preview", params={"format": "html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'id="preview-contact"' in page.get_body().decode()
    wrong = _call(app["sync_preview"], "GET", "sync/preview", params={"format": "xml"})
    assert wrong.status_code == 400 and "use format=json or format=html" in _body(wrong)["error"]
    assert route_count(app_emulators[1], "leads") == 1  # it looked the emails up …
    assert int(control(app_emulators[1], "GET", "stats").get("writes", 0)) == writes  # … and wrote nothing
    assert list(worker.engine().store.links.iter_table("contact")) == []


def test_resync_field_endpoint_refuses_an_unmapped_field_and_starts_a_mapped_one(app: dict[str, func.Function]) -> None:
    client = DurableClientStandIn()
    bad = _call(
        app["sync_resync_field"], "POST", "sync/resync-field", client, params={"object": "lead", "field": "nope"}
    )
    assert bad.status_code == 400 and "no mapped field 'nope'" in _body(bad)["error"]
    good = _call(
        app["sync_resync_field"], "POST", "sync/resync-field", client, params={"object": "lead", "field": "title"}
    )
    assert good.status_code == 202 and client.started[0][0] == "resync_field"
    assert client.started[0][1].startswith("resync-lead-")


def test_quick_sync_endpoint_takes_several_fields_and_a_window_and_refuses_a_bad_date(
    app: dict[str, func.Function],
) -> None:
    client = DurableClientStandIn()
    params = {"object": "lead", "field": "title,phone", "modified_since": "2026-12-01T00:00:00Z"}
    good = _call(app["sync_resync_field"], "POST", "sync/resync-field", client, params=params)
    assert good.status_code == 202
    started = client.started[0]
    assert started[0] == "resync_field" and started[2]["request"]["fields"] == ["title", "phone"]
    again = _call(app["sync_resync_field"], "POST", "sync/resync-field", client, params=params)
    assert again.status_code == 202 and _body(again) == {  # the same request: the same instance, once
        "instance_id": started[1],
        "started": False,
        "reason": "already under way",
    }
    bad = _call(
        app["sync_resync_field"],
        "POST",
        "sync/resync-field",
        client,
        params={"object": "lead", "field": "title", "created_since": "last tuesday"},
    )
    assert bad.status_code == 400 and "ISO 8601" in _body(bad)["error"]


def test_pause_stops_runs_and_resume_restarts_an_interrupted_full_copy(app: dict[str, func.Function]) -> None:
    client = DurableClientStandIn()
    paused = _call(app["sync_pause"], "POST", "sync/pause", params={"object": "contact"})
    assert _body(paused)["newly_paused"] == ["contact"]
    _tick(app, SyncObject.CONTACT, client)
    assert client.started == []  # a paused object's copy is not started either
    status = _body(_call(app["sync_status"], "GET", "sync/status"))
    assert list(status["paused"]) == ["contact"]
    engine = worker.engine()
    from sync.engine.full_copy import begin_full_copy

    begin_full_copy(engine, SyncObject.CONTACT)  # a copy that was under way when the pause came
    resumed = _call(app["sync_resume"], "POST", "sync/resume", client, params={"object": "contact"})
    assert _body(resumed)["resumed"] == ["contact"]
    assert client.started[0][1] == "full-copy-contact"


def test_status_dashboard_and_errors_endpoints_report_from_the_store(app: dict[str, func.Function]) -> None:
    store: SyncStore = worker.store()
    store.errors.record_failure(
        SyncObject.CONTACT,
        Direction.DYNAMICS_TO_MARKETO,
        "g1",
        operation="upsert",
        code="1003",
        message="bad email",
        kind="bad_record",
    )
    status = _body(_call(app["sync_status"], "GET", "sync/status"))
    contact = next(o for o in status["objects"] if o["object"] == "contact")
    assert contact["errors"] == {"waiting_retry": 1, "parked": 0, "by_kind": {"bad_record": 1}}
    page = _call(app["sync_dashboard"], "GET", "sync/dashboard").get_body().decode()
    assert "<title>Dynamics ↔ Marketo sync — status</title>" in page and "bad_record 1" in page
    rows = list(
        csv.DictReader(
            io.StringIO(_call(app["sync_errors"], "GET", "sync/errors", params={"format": "csv"}).get_body().decode())
        )
    )
    assert [(r["record_id"], r["kind"]) for r in rows] == [("g1", "bad_record")]
    bad = _call(app["sync_errors"], "GET", "sync/errors", params={"object": "persons"})
    assert bad.status_code == 400 and "unknown object 'persons'; use one of: systemuser" in _body(bad)["error"]
    retried = _call(app["sync_errors_retry"], "POST", "sync/errors/retry", params={"object": "contact"})
    assert _body(retried)["retry_requested"] == 1


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({}, b"{}", 401, "missing or wrong X-Sync-Secret header"),
        ({"X-Sync-Secret": "wrong"}, b"{}", 401, "missing or wrong X-Sync-Secret header"),
        ({"X-Sync-Secret": WEBHOOK_SECRET}, b"not json", 400, "the body is not JSON"),
        ({"X-Sync-Secret": WEBHOOK_SECRET}, b"[1]", 400, "the body must be a JSON object"),
        ({"X-Sync-Secret": WEBHOOK_SECRET}, b"{}", 400, "personId: Field required"),
        ({"X-Sync-Secret": WEBHOOK_SECRET}, b'{"personId": -4}', 400, "personId: Input should be greater than 0"),
        (
            {"X-Sync-Secret": WEBHOOK_SECRET},
            b'{"personId": 5, "table": "account"}',
            400,
            "table: Input should be 'lead' or 'contact'",
        ),
        (
            {"X-Sync-Secret": WEBHOOK_SECRET},
            b'{"personId": 5, "color": "red"}',
            400,
            "color: Extra inputs are not permitted",
        ),
        ({"X-Sync-Secret": WEBHOOK_SECRET}, b'{"personId": 99999}', 422, "Marketo has no person 99999"),
    ],
)
def test_the_sync_person_webhook_answers_bad_requests_with_a_4xx_naming_the_problem(
    app: dict[str, func.Function], headers: dict[str, str], body: bytes, status: int, message: str
) -> None:
    response = _call(app["webhook_sync_person"], "POST", "sync/person", headers=headers, body=body)
    assert (response.status_code, message in _body(response)["error"]) == (status, True)


def test_the_webhooks_carry_out_the_flow_actions(app: dict[str, func.Function]) -> None:
    engine = worker.engine()
    person = engine.marketo.persons.upsert([{"email": "hook@example.com", "lastName": "Hook"}])[0].id
    headers = {"X-Sync-Secret": WEBHOOK_SECRET}
    synced = _call(
        app["webhook_sync_person"],
        "POST",
        "sync/person",
        headers=headers,
        body=json.dumps({"personId": person}).encode(),
    )
    assert synced.status_code == 200 and _body(synced)["how"] == "created"
    task = _call(
        app["webhook_create_task"],
        "POST",
        "sync/task",
        headers=headers,
        body=json.dumps({"personId": person, "subject": "Call back"}).encode(),
    )
    assert task.status_code == 200 and _body(task)["taskId"]
    user = str(engine.dataverse.client.get_json("WhoAmI")["UserId"])
    owner = _call(
        app["webhook_change_owner"],
        "POST",
        "sync/owner",
        headers=headers,
        body=json.dumps({"personId": person, "salesPersonId": user}).encode(),
    )
    assert owner.status_code == 200 and _body(owner)["owner"] == user


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"personId": 5}', 400, "campaignId: Field required"),
        (b'{"personId": 5, "campaignId": "x"}', 400, "campaignId: String should have at least 36 characters"),
        (b'{"campaignId": "2b0d8a52-9f6e-4b1e-9a53-3c1f0e2d7a11"}', 400, "personId: Field required"),
        (
            b'{"personId": 5, "campaignId": "2b0d8a52-9f6e-4b1e-9a53-3c1f0e2d7a11"}',
            422,
            "Dynamics has no campaign 2b0d8a52-9f6e-4b1e-9a53-3c1f0e2d7a11",
        ),
        (
            b'{"personId": 5, "campaignId": "zzzzzzzz-9f6e-4b1e-9a53-3c1f0e2d7a11"}',
            422,
            "is not a Dynamics campaign id (a GUID)",
        ),
    ],
)
def test_the_campaign_webhooks_answer_bad_requests_with_a_4xx_naming_the_problem(
    app: dict[str, func.Function], body: bytes, status: int, message: str
) -> None:
    for name, route in (
        ("webhook_campaign_add", "sync/campaign/add"),
        ("webhook_campaign_remove", "sync/campaign/remove"),
    ):
        response = _call(app[name], "POST", route, headers={"X-Sync-Secret": WEBHOOK_SECRET}, body=body)
        if name == "webhook_campaign_remove" and status == 422 and "no campaign" in message:
            assert response.status_code == 422  # the person is not linked: nothing to remove, said so
            continue
        assert (response.status_code, message in _body(response)["error"]) == (status, True), _body(response)
    wrong = _call(app["webhook_campaign_add"], "POST", "sync/campaign/add", headers={"X-Sync-Secret": "no"}, body=body)
    assert wrong.status_code == 401


def test_the_campaign_webhooks_add_a_person_and_remove_it_again(app: dict[str, func.Function]) -> None:
    engine = worker.engine()
    person = engine.marketo.persons.upsert([{"email": "camp@example.com", "lastName": "Camp"}])[0].id
    campaign = DynamicsUser(engine.dataverse.client).create(engine.tables["campaign"], {"name": "Hooked"})
    body = json.dumps({"personId": person, "campaignId": campaign}).encode()
    headers = {"X-Sync-Secret": WEBHOOK_SECRET}
    added = _call(app["webhook_campaign_add"], "POST", "sync/campaign/add", headers=headers, body=body)
    assert added.status_code == 200 and _body(added)["done"] == "added" and _body(added)["table"] == "lead"
    again = _call(app["webhook_campaign_add"], "POST", "sync/campaign/add", headers=headers, body=body)
    assert _body(again)["done"] == "already a member (added by the sync)"
    removed = _call(app["webhook_campaign_remove"], "POST", "sync/campaign/remove", headers=headers, body=body)
    assert removed.status_code == 200 and _body(removed)["done"] == "removed"


def test_webhooks_answer_503_until_a_secret_is_configured(
    app: dict[str, func.Function], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNC_WEBHOOK_SECRET")
    worker.settings.cache_clear()
    response = _call(app["webhook_sync_person"], "POST", "sync/person", body=b"{}")
    assert (response.status_code, _body(response)["error"]) == (
        503,
        "webhooks are not configured: set SYNC_WEBHOOK_SECRET",
    )


def test_the_preview_activity_stops_a_minute_before_the_hosts_function_timeout() -> None:
    from pathlib import Path

    from sync.functions.orchestrations import PREVIEW_TIME_LIMIT_S

    host = json.loads((Path(__file__).resolve().parent.parent / "host.json").read_text())
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    assert hours * 3600 + minutes * 60 + seconds - 60 >= PREVIEW_TIME_LIMIT_S
