"""Marketo → Dynamics by webhook: the emulator's trigger campaign calls its webhook when a person
is created or a watched field changes (the payload's tokens filled in, the custom headers sent,
a failed call never retried), and a Marketo edit crosses to Dynamics through the CLI's change
route, the queue and the drain, without a timer run; a lost call is reconciled by the timer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest
import requests

from emulators.launch import RunningEmulator
from emulators.marketo.push import push_person
from sync.cli.listener import ChangeListener
from sync.engine import changes
from sync.engine.drain import drain_all
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.functions import worker
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store.runs import RunOutcome
from tests.emulator_support import control
from tests.functions_app import WEBHOOK_SECRET
from tests.test_dataverse_webhooks import Receiver

TEMPLATE = '{"personId": {{lead.Id}}, "email": {{lead.Email Address}}}'


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def _idle(marketo: RunningEmulator) -> None:
    assert marketo.service.campaigns.jobs.idle(30), "the trigger campaign did not make its calls"  # type: ignore[attr-defined]


def _push(marketo: RunningEmulator, records: list[dict[str, Any]], action: str = "createOrUpdate") -> Any:
    service: Any = marketo.service
    with service.lock:
        return [push_person(service.persons, r, action, "email", set(), service.clock.now()) for r in records]


def test_a_trigger_campaign_calls_its_webhook_on_create_and_on_a_watched_change_only(
    marketo: RunningEmulator, receiver: Receiver
) -> None:
    body = {"url": receiver.url, "template": TEMPLATE, "headers": {"X-Sync-Secret": "s3"}, "fields": ["title"]}
    assert control(marketo, "POST", "webhooks", body)["id"] == 1
    [made] = _push(marketo, [{"email": "ada@example.com"}])
    _push(marketo, [{"email": "ada@example.com", "city": "London"}])  # not a watched field
    _push(marketo, [{"email": "ada@example.com", "title": "Countess"}])
    _idle(marketo)
    assert [p["body"] for p in receiver.posts] == [{"personId": made["id"], "email": "ada@example.com"}] * 2
    assert receiver.posts[0]["headers"]["X-Sync-Secret"] == "s3"
    calls = control(marketo, "GET", "webhooks")
    assert [c["status"] for c in calls["calls"]] == [202, 202] and calls["pending"] == 0


def test_a_failed_webhook_call_is_not_retried(marketo: RunningEmulator) -> None:
    receiver = Receiver([500])
    try:
        control(marketo, "POST", "webhooks", {"url": receiver.url, "template": TEMPLATE, "triggers": ["created"]})
        _push(marketo, [{"email": "once@example.com"}])
        _idle(marketo)
        assert len(receiver.posts) == 1
        assert [c["status"] for c in control(marketo, "GET", "webhooks")["calls"]] == [500]
    finally:
        receiver.close()


def test_a_bad_registration_is_refused_naming_what_is_missing(marketo: RunningEmulator) -> None:
    answer = requests.post(
        f"{marketo.url}/_emulator/webhooks", json={"url": "ftp://x"}, verify=marketo.info["ca_file"], timeout=10
    )
    assert answer.status_code == 400 and "give 'url'" in answer.json()["error"]


def _contact_and_person(marketo: RunningEmulator) -> tuple[str, int]:
    person = next(p for p in control(marketo, "GET", "data/lead")["rows"] if p.get("dynamicsEntityType") == "contact")
    return str(person["dynamicsId"]), int(person["id"])


def _jobtitle(contact: str) -> Any:
    engine = worker.engine()
    return engine.dataverse.client.get_json(f"contacts({contact})", params={"$select": "jobtitle"})["jobtitle"]


@pytest.mark.parametrize("webhook", ["delivered", "lost"])
def test_a_marketo_edit_crosses_to_dynamics_by_webhook_and_a_lost_call_is_reconciled_by_the_timer(
    app: dict[str, func.Function],
    app_emulators: tuple[RunningEmulator, RunningEmulator],
    webhook: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(changes, "ECHO_WINDOW", timedelta(0))  # the edit comes right after the copy
    marketo = app_emulators[1]
    engine = worker.engine()
    for obj in FULL_COPY_ORDER:
        full_copy(engine, obj)
    contact, person = _contact_and_person(marketo)
    with ChangeListener() as listener:
        url = f"{listener.url}changes/marketo" if webhook == "delivered" else "http://127.0.0.1:9/nowhere"
        headers = {"X-Sync-Secret": WEBHOOK_SECRET}
        control(marketo, "POST", "webhooks", {"url": url, "template": TEMPLATE, "headers": headers})
        engine.marketo.persons.upsert([{"id": person, "title": "By Webhook"}], action="updateOnly", lookup_field="id")
        _idle(marketo)
    drained = drain_all(engine, worker.change_queue())
    if webhook == "delivered":
        assert [d.result.total().written for d in drained] == [1]
        assert _jobtitle(contact) == "By Webhook"
    else:
        assert drained == [] and _jobtitle(contact) != "By Webhook"
        assert control(marketo, "GET", "webhooks")["calls"][0]["error"] == "ConnectionError"
    assert run_once(engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED  # the safety net
    assert _jobtitle(contact) == "By Webhook"
    assert json.dumps(control(marketo, "GET", "webhooks")).count(WEBHOOK_SECRET) == 0  # headers are not shown
