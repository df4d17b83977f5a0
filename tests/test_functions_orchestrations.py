"""The full copy and resync orchestrations through the Durable SDK's replay engine, called as the
worker calls them (the registered function with a history): what each schedules next, its
custom status, its waits, its retries and its continue-as-new."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.functions.orchestrations import PAGES_PER_GENERATION
from tests.durable_support import (
    CALL_ACTIVITY,
    CALL_ACTIVITY_WITH_RETRY,
    CALL_SUB_ORCHESTRATOR,
    CONTINUE_AS_NEW,
    CREATE_TIMER,
    History,
)
from tests.functions_app import import_function_app, index_functions

BASE_ENV = {
    "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
    "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com",
    "MARKETO_CLIENT_ID": "client",
    "MARKETO_CLIENT_SECRET": "secret-value",
    "SYNC_STORAGE_CONNECTION": "UseDevelopmentStorage=true",
}


@pytest.fixture(scope="module")
def orchestrators() -> Iterator[dict[str, Callable[[Any], str]]]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in BASE_ENV.items():
            patch.setenv(name, value)
        functions = index_functions(import_function_app())
        yield {
            name: functions[name].get_user_function()
            for name in ("full_copy", "full_copy_object", "full_copy_preview", "resync_field")
        }


def _page(done: int, **state: Any) -> dict[str, Any]:
    return {"object": "contact", "done": done, "complete": False, "written": 10, "failed": 0, **state}


def test_a_full_copy_of_an_object_begins_then_asks_for_its_first_page(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "contact"})
    first = history.replay(orchestrators["full_copy_object"])
    assert [(a["actionType"], a["functionName"]) for a in first["flat"]] == [(CALL_ACTIVITY, "begin_full_copy")]
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 1000})
    second = history.replay(orchestrators["full_copy_object"])
    page = second["flat"][-1]
    assert (page["actionType"], page["functionName"], json.loads(page["input"])) == (
        CALL_ACTIVITY_WITH_RETRY,
        "copy_page",
        {"object": "contact"},
    )
    assert page["retryOptions"] == {"firstRetryIntervalInMilliseconds": 5000, "maxNumberOfAttempts": 5}


def test_each_page_reports_done_total_rate_and_eta_as_the_custom_status(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "contact"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 1000}, seconds=0)
    history.activity("copy_page", _page(250), seconds=10)
    state = history.replay(orchestrators["full_copy_object"])
    assert state["customStatus"] == {"object": "contact", "done": 250, "total": 1000, "rate": 25.0, "eta_s": 30}
    assert not state["isDone"]


def test_the_last_page_ends_the_orchestration_with_its_result(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "contact"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 300})
    history.activity("copy_page", _page(300, complete=True))
    state = history.replay(orchestrators["full_copy_object"])
    assert state["isDone"] and state["output"] == {"object": "contact", "complete": True, "done": 300}


@pytest.mark.parametrize(
    ("page", "waits_until"),
    [
        ({"object": "contact", "quota_reset_at": "2026-11-23T06:00:00+00:00"}, datetime(2026, 11, 23, 6, tzinfo=UTC)),
        ({"object": "contact", "busy": True}, None),
    ],
    ids=["quota-spent", "lease-busy"],
)
def test_waits_are_durable_timers_never_sleeps(
    orchestrators: dict[str, Any], page: dict[str, Any], waits_until: datetime | None
) -> None:
    history = History("full_copy_object", {"object": "contact"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 10})
    history.activity("copy_page", page)
    state = history.replay(orchestrators["full_copy_object"])
    timer = state["flat"][-1]
    assert timer["actionType"] == CREATE_TIMER
    fire_at = datetime.fromisoformat(timer["fireAt"].replace("Z", "+00:00"))
    assert fire_at == (waits_until or history.now + timedelta(seconds=30))
    history.timer(fire_at)
    after = history.replay(orchestrators["full_copy_object"])
    assert after["flat"][-1]["functionName"] == "copy_page"  # then the page is asked for again


def test_a_running_bulk_job_is_waited_for_on_a_timer_with_the_progress_shown(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "contact", "path": "bulk"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 1_000_000})
    history.activity("copy_page", _page(60_000, wait_s=45.0))
    state = history.replay(orchestrators["full_copy_object"])
    assert state["customStatus"]["done"] == 60_000
    timer = state["flat"][-1]
    fire_at = datetime.fromisoformat(timer["fireAt"].replace("Z", "+00:00"))
    assert (timer["actionType"], fire_at) == (CREATE_TIMER, history.now + timedelta(seconds=45))
    history.timer(fire_at)
    assert history.replay(orchestrators["full_copy_object"])["flat"][-1]["functionName"] == "copy_page"


def test_the_copy_path_reaches_the_begin_activity(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "lead", "path": "rest"})
    begin = history.replay(orchestrators["full_copy_object"])["flat"][-1]
    assert json.loads(begin["input"]) == {"object": "lead", "again": False, "path": "rest"}


def test_a_paused_object_stops_at_its_checkpoint(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "contact"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 10})
    history.activity("copy_page", {"object": "contact", "paused": True})
    state = history.replay(orchestrators["full_copy_object"])
    assert state["isDone"] and state["output"] == {"object": "contact", "stopped": "paused"}


def test_a_failing_page_is_retried_and_the_copy_goes_on(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "contact"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 10})
    history.activity_failed("copy_page", "Marketo error 611: System error")
    history.timer(history.now + timedelta(seconds=5))  # the retry interval, as the extension replays it
    history.activity("copy_page", _page(5))
    state = history.replay(orchestrators["full_copy_object"])
    assert not state["isDone"] and state["customStatus"]["done"] == 5
    assert history.replay(orchestrators["full_copy_object"])["flat"][-1]["functionName"] == "copy_page"


def test_a_page_failing_every_attempt_fails_the_orchestration_with_the_reason(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy_object", {"object": "contact"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 10})
    for _ in range(5):
        history.activity_failed("copy_page", "Dataverse error 0x80040220: prvReadContact missing")
        history.timer(history.now + timedelta(seconds=5))
    with pytest.raises(Exception, match="prvReadContact missing") as failed:
        history.replay(orchestrators["full_copy_object"])
    assert '"error": "Dataverse error 0x80040220' in str(failed.value)  # the state the host records


def test_the_history_is_bounded_by_continuing_as_new_and_resumes_without_beginning_again(
    orchestrators: dict[str, Any],
) -> None:
    history = History("full_copy_object", {"object": "contact"})
    history.activity("begin_full_copy", {"object": "contact", "done": 0, "total": 10_000_000})
    for n in range(PAGES_PER_GENERATION):
        history.activity("copy_page", _page(5000 * (n + 1)))
    state = history.replay(orchestrators["full_copy_object"])
    restart = state["flat"][-1]
    assert restart["actionType"] == CONTINUE_AS_NEW
    carried = json.loads(restart["input"])
    assert carried["begun"] and carried["total"] == 10_000_000
    again = History("full_copy_object", carried).replay(orchestrators["full_copy_object"])
    assert [a["functionName"] for a in again["flat"]] == ["copy_page"]


def test_the_full_copy_runs_one_singleton_sub_orchestration_per_object_in_order(orchestrators: dict[str, Any]) -> None:
    history = History("full_copy", {"objects": ["systemuser", "team", "account"]})
    first = history.replay(orchestrators["full_copy"])
    child = first["flat"][-1]
    assert (child["actionType"], child["functionName"], child["instanceId"]) == (
        CALL_SUB_ORCHESTRATOR,
        "full_copy_object",
        "full-copy-systemuser",
    )
    history.sub_orchestration("full_copy_object", "full-copy-systemuser", {"object": "systemuser", "complete": True})
    assert history.replay(orchestrators["full_copy"])["flat"][-1]["instanceId"] == "full-copy-team"
    history.sub_orchestration("full_copy_object", "full-copy-team", {"object": "team", "stopped": "paused"})
    state = history.replay(orchestrators["full_copy"])
    assert state["isDone"] and [r["object"] for r in state["output"]] == [
        "systemuser",
        "team",
    ]  # the pause stops the chain


def test_resync_field_walks_the_links_page_by_page_with_progress_and_eta(orchestrators: dict[str, Any]) -> None:
    request = {"object": "lead", "fields": ["title", "phone"], "created_since": None, "modified_since": None}
    history = History("resync_field", {"request": request})
    first = history.replay(orchestrators["resync_field"])
    assert json.loads(first["flat"][-1]["input"]) == {"request": request, "cursor": None}
    page = {"read": 300, "written": 299, "failed": 1, "cursor": "c1", "complete": False}
    history.activity("resync_page", {**page, "total": 620}, seconds=10)  # the first page says the total
    second = history.replay(orchestrators["resync_field"])
    assert json.loads(second["flat"][-1]["input"])["cursor"] == "c1"
    assert second["customStatus"] == {
        "object": "lead",
        "done": 300,
        "total": 620,
        "rate": 30.0,  # 300 in the first 10 s
        "eta_s": 11,  # 320 left at that rate
        "fields": ["title", "phone"],
        "read": 300,
        "written": 299,
        "failed": 1,
    }
    history.activity("resync_page", {"read": 20, "written": 20, "failed": 0, "cursor": None, "complete": True})
    done = history.replay(orchestrators["resync_field"])
    assert done["isDone"] and done["output"]["written"] == 319


def test_the_preview_orchestration_previews_each_object_in_turn_and_a_failed_one_does_not_stop_the_rest(
    orchestrators: dict[str, Any],
) -> None:
    history = History("full_copy_preview", {"objects": ["lead", "contact"]})
    first = history.replay(orchestrators["full_copy_preview"])
    assert [(a["actionType"], a["functionName"], json.loads(a["input"])) for a in first["flat"]] == [
        (CALL_ACTIVITY, "preview_object", {"object": "lead"})
    ]
    history.activity_failed("preview_object", "Marketo error 603: Access denied")
    second = history.replay(orchestrators["full_copy_preview"])
    assert [json.loads(a["input"]) for a in second["flat"]][-1] == {"object": "contact"}
    history.activity("preview_object", {"object": "contact", "complete": True, "read": 8, "eta_s": 1.2})
    state = history.replay(orchestrators["full_copy_preview"])
    assert state["isDone"] and state["output"][0]["object"] == "lead"
    assert "Access denied" in state["output"][0]["failed"]
    assert state["output"][1] == {"object": "contact", "complete": True, "read": 8, "eta_s": 1.2}
