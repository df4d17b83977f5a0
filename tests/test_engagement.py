"""Marketo engagement in Dynamics (issue 26), against both emulators and Azurite: `setup` creates the
score columns, the Marketo activity table and its alternate key once; scores flow Marketo →
Dynamics only; each default activity type lands once on the lead or contact the person is linked
to (individually, or as a day's roll-up), a replay adds nothing, a qualified lead's engagement
goes on on its contact, persons without a Dynamics record cost no Dynamics call, and a spent
engagement budget holds engagement while the record sync goes on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.engine.engagement_backfill import backfill_engagement
from sync.engine.engagement_setup import EngagementSetup
from sync.engine.engagement_writes import write_engagement
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.mapping.file import EngagementEntry
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.reporting.status import status_report
from sync.store.runs import RunOutcome
from tests.emulator_support import control, route_count
from tests.sync_support import World

TABLE = "mkto_marketoactivity"
DEFAULT_TYPES = (
    "Email Delivered",
    "Open Email",
    "Click Email",
    "Unsubscribe Email",
    "Fill Out Form",
    "Visit Webpage",
    "Interesting Moment",
)


def _setup(world: World) -> list[str]:
    """`python -m sync setup`, waiting on the key's index as Dataverse's clock moves."""
    advance = lambda s: control(world.dataverse, "POST", "clock", {"advance_seconds": s})  # noqa: E731
    report = EngagementSetup(world.engine.dataverse, "mkto").run(EngagementEntry(), wait=advance)
    return report.created


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text("engagement: {}\n")
    return path


@pytest.fixture
def world(make_sync_world: Callable[..., World], mapping: Path) -> World:
    made = make_sync_world(SYNC_MAPPING_FILE=str(mapping))
    _setup(made)
    made.create("contact", {"lastname": "Reader", "emailaddress1": "reader@example.com"})
    made.create("lead", {"lastname": "Prospect", "emailaddress1": "prospect@example.com", "companyname": "Acme"})
    made.restart()
    for obj in FULL_COPY_ORDER:
        full_copy(made.engine, obj)
    return made


def _person(world: World, email: str) -> int:
    return int(next(p["id"] for p in world.marketo_rows("lead") if p.get("email") == email))


def _log(world: World, person: int, *types: str) -> None:
    control(world.marketo, "POST", "engagement", {"activities": [{"leadId": person, "type": t} for t in types]})


def _read_engagement(world: World) -> str:
    """A run of engagement's own stream once the activities are past its late window."""
    control(world.marketo, "POST", "clock", {"advance_seconds": 11 * 60})
    record = run_once(world.engine, SyncObject.ENGAGEMENT)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    return record.message


def program_status(program: dict[str, Any]) -> str:
    """The first status of the program's channel a member can be put in."""
    return {"Webinar": "Registered", "Tradeshow": "Registered", "Email Send": "Sent"}[program["channel"]]


def _rows(world: World) -> list[dict[str, Any]]:
    return world.dynamics_rows(TABLE)


def test_setup_creates_the_columns_table_and_key_once(make_sync_world: Callable[..., World]) -> None:
    world = make_sync_world()
    created = _setup(world)
    assert "lead.mkto_leadscore" in created and "contact.mkto_lastmomentdate" in created
    assert f"table {TABLE}" in created and f"key mkto_activitykeyindex on {TABLE}" in created
    assert _setup(world) == []  # the second run finds everything
    keys = world.engine.dataverse.client.get_json(f"EntityDefinitions(LogicalName='{TABLE}')/Keys")["value"]
    assert [(k["KeyAttributes"], k["EntityKeyIndexStatus"]) for k in keys] == [(["mkto_activitykey"], "Active")]


def test_scores_flow_from_marketo_to_dynamics_and_never_back(world: World) -> None:
    reader = _person(world, "reader@example.com")
    control(world.marketo, "POST", "engagement", {"scores": [{"leadId": reader, "leadScore": 35, "priority": 4}]})
    _log(world, reader, "Interesting Moment")
    assert run_once(world.engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED
    contact = next(r for r in world.dynamics_rows("contact") if r.get("emailaddress1") == "reader@example.com")
    assert contact["mkto_leadscore"] == 35 and contact["mkto_priority"] == 4
    assert contact["mkto_lastmomenttype"] and contact["mkto_lastmomentdesc"]
    world.update("contact", contact["contactid"], {"mkto_leadscore": 99, "jobtitle": "CTO"})
    run_once(world.engine, SyncObject.CONTACT)
    person = next(p for p in world.marketo_rows("lead") if p["id"] == reader)
    assert person["title"] == "CTO" and person["leadScore"] == 35  # Marketo's score is never written back


def test_each_default_type_lands_once_on_the_linked_record(world: World) -> None:
    reader = _person(world, "reader@example.com")
    _log(world, reader, *DEFAULT_TYPES, "Email Delivered", "Visit Webpage")
    control(world.marketo, "POST", "seed", {"counts": {"program": 1}, "seed": 1})
    program = control(world.marketo, "GET", "data/program")["rows"][0]
    status = {"statusName": program_status(program), "input": [{"leadId": reader}]}
    world.engine.marketo.client.call("POST", f"/rest/v1/programs/{program['id']}/members/status.json", json=status)
    _read_engagement(world)
    rows = _rows(world)
    contact = next(r for r in world.dynamics_rows("contact") if r.get("emailaddress1") == "reader@example.com")
    assert {r["regardingobjectid"][1] for r in rows} == {contact["contactid"]}
    individual = [r for r in rows if r["mkto_count"] == 1 and r["statecode"] == 1]
    assert sorted(r["mkto_activitytype"] for r in individual) == sorted(
        [
            "Open Email",
            "Click Email",
            "Unsubscribe Email",
            "Fill Out Form",
            "Interesting Moment",
            "Change Status in Progression",
        ]
    )
    moved = next(r for r in individual if r["mkto_activitytype"] == "Change Status in Progression")
    assert moved["subject"] == f"Program status: {program['name']} → {program_status(program)}"
    rollups = {r["mkto_activitytype"]: r for r in rows if r not in individual}
    assert rollups["Email Delivered"]["mkto_count"] == 2 and rollups["Visit Webpage"]["mkto_count"] == 2
    assert rollups["Email Delivered"]["subject"].startswith("2 email(s) delivered on ")
    activities = world.engine.marketo.activities
    replayed = next(
        iter(activities.read_activities(activities.paging_token(datetime(2020, 1, 1, tzinfo=UTC)), [7, 10, 1]))
    )
    write_engagement(world.engine, replayed.activities)  # the same activities again
    assert len(_rows(world)) == len(rows)
    assert {r["mkto_activitytype"]: r["mkto_count"] for r in _rows(world) if r["statecode"] == 0} == {
        "Email Delivered": 2,
        "Visit Webpage": 2,
    }


def test_a_qualified_leads_engagement_goes_on_on_its_contact(world: World) -> None:
    prospect = _person(world, "prospect@example.com")
    _log(world, prospect, "Open Email")
    _read_engagement(world)
    lead = next(r for r in world.dynamics_rows("lead") if r.get("emailaddress1") == "prospect@example.com")
    assert [r["regardingobjectid"] for r in _rows(world)] == [["lead", lead["leadid"]]]
    world.user.qualify_lead(lead["leadid"], account=False, contact=True)
    run_once(world.engine, SyncObject.CONTACT)
    _log(world, prospect, "Fill Out Form")
    _read_engagement(world)
    form = next(r for r in _rows(world) if r["mkto_activitytype"] == "Fill Out Form")
    contact = next(r for r in world.dynamics_rows("contact") if r.get("emailaddress1") == "prospect@example.com")
    assert form["regardingobjectid"] == ["contact", contact["contactid"]]


def test_a_person_without_a_dynamics_record_costs_no_dynamics_call(world: World) -> None:
    stranger = world.engine.marketo.persons.upsert([{"email": "stranger@example.com", "lastName": "S"}])[0].id
    assert stranger is not None
    _log(world, stranger, "Open Email", "Fill Out Form")
    before = route_count(world.dataverse, "$batch")
    _read_engagement(world)
    assert _rows(world) == [] and route_count(world.dataverse, "$batch") == before


def test_a_spent_engagement_budget_holds_engagement_while_records_sync(
    make_sync_world: Callable[..., World], mapping: Path
) -> None:
    world = make_sync_world(SYNC_MAPPING_FILE=str(mapping), SYNC_ENGAGEMENT_DAILY_CALLS="2")
    _setup(world)
    world.create("contact", {"lastname": "Reader", "emailaddress1": "reader@example.com"})
    world.restart()
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)
    reader = _person(world, "reader@example.com")
    _log(world, reader, "Open Email")
    message = _read_engagement(world)  # the token and one page: the day's two calls
    assert len(_rows(world)) == 1 and "budget" not in message
    _log(world, reader, "Fill Out Form")
    message = _read_engagement(world)
    assert "daily budget of 2 Marketo calls is spent" in message and len(_rows(world)) == 1
    shown = next(o for o in status_report(world.store, datetime.now(UTC))["objects"] if o["object"] == "engagement")
    stream = shown["directions"][0]["engagement"]
    assert (stream["calls_today"], stream["budget"]) == (2, 2) and stream["backlog_s"] is not None
    contact = next(r for r in world.dynamics_rows("contact") if r.get("emailaddress1") == "reader@example.com")
    world.update("contact", contact["contactid"], {"jobtitle": "Head of Data"})
    assert run_once(world.engine, SyncObject.CONTACT).outcome is RunOutcome.SUCCEEDED
    assert next(p for p in world.marketo_rows("lead") if p["id"] == reader)["title"] == "Head of Data"


def test_types_that_fit_ride_on_the_person_streams_call(make_sync_world: Callable[..., World], mapping: Path) -> None:
    mapping.write_text("engagement:\n  scores: false\n  types: {Email Delivered: off, Visit Webpage: off}\n")
    world = make_sync_world(SYNC_MAPPING_FILE=str(mapping))
    _setup(world)
    world.create("contact", {"lastname": "Reader", "emailaddress1": "reader@example.com"})
    world.restart()
    assert world.engine.engagement is not None and world.engine.engagement.rides
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)
    _log(world, _person(world, "reader@example.com"), "Open Email")
    assert run_once(world.engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED
    assert [r["mkto_activitytype"] for r in _rows(world)] == ["Open Email"]
    assert "rides on the person stream" in run_once(world.engine, SyncObject.ENGAGEMENT).message


def test_the_backfill_reads_a_month_of_engagement_through_one_bulk_extract_once(world: World) -> None:
    control(world.marketo, "POST", "seed", {"counts": {"engagement": 150}, "seed": 3})
    wanted = {
        7: "rollup",
        1: "rollup",
        10: "individual",
        11: "individual",
        9: "individual",
        2: "individual",
        46: "individual",
    }
    history = [a for a in world.marketo_rows("activity") if a["activityTypeId"] in wanted]
    individual = {a["marketoGUID"] for a in history if wanted[a["activityTypeId"]] == "individual"}
    rolled = {
        (a["leadId"], a["activityTypeId"], a["activityDate"][:10])
        for a in history
        if wanted[a["activityTypeId"]] == "rollup"
    }
    creates = route_count(world.marketo, "bulk_export_create")
    advance = lambda s: control(world.marketo, "POST", "clock", {"advance_seconds": s})  # noqa: E731
    until = world.engine.marketo.client.server_now()
    for _ in range(2):  # twice: the second finds every row there
        *_, done = backfill_engagement(world.engine, until - timedelta(days=31), until, wait=advance)
    assert route_count(world.marketo, "bulk_export_create") == creates + 2  # one job a run
    rows = _rows(world)
    assert {r["mkto_activitykey"] for r in rows if r["statecode"] == 1} == individual
    assert len([r for r in rows if r["statecode"] == 0]) == len(rolled)
    assert sum(r["mkto_count"] for r in rows) == len(history)
    assert done.extracted == len(history) and done.counts.written == 0
    assert done.counts.unchanged == len(individual) + len(rolled)
