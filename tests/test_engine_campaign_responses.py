"""Program status → campaign responses (issue 25), against both emulators and Azurite: the mapping
links a Marketo program to a Dynamics campaign (by its code) and maps statuses to response codes;
a linked contact's status change becomes one response from that contact on the campaign, dated
when it happened; the same activities read again create none; a status mapped to none and a
person with no Dynamics record create none; and a mapping naming an unknown program, campaign,
status, code or channel stops the start with every problem and its closest matches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync.engine.campaign_responses import respond
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.mapping.file import MappingError
from sync.objects import FULL_COPY_ORDER, M2D, SyncObject
from tests.emulator_support import control, fault
from tests.sync_support import World, by_key


def _rules(program: str, campaign: str, **extra: str) -> str:
    lines = [
        "campaign_responses:",
        f"  - program: {program!r}",
        f"    campaign: {campaign!r}",
        "    statuses: {Registered: none, Attended: Interested, No Show: Not Interested}",
    ]
    lines += [f"    {key}: {value!r}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text("campaign_responses: []\n")
    return path


@pytest.fixture
def world(make_sync_world: Callable[..., World], mapping: Path) -> World:
    made = make_sync_world(SYNC_MAPPING_FILE=str(mapping))
    control(made.marketo, "POST", "seed", {"counts": {"program": 3}, "seed": 2})
    made.create("contact", {"lastname": "Attendee", "emailaddress1": "attendee@example.com"})
    for obj in FULL_COPY_ORDER:
        full_copy(made.engine, obj)
    return made


def _webinar(world: World) -> dict[str, Any]:
    return dict(next(p for p in control(world.marketo, "GET", "data/program")["rows"] if p["channel"] == "Webinar"))


def _campaign(world: World, name: str) -> tuple[str, str]:
    campaign = world.create("campaign", {"name": name})
    return campaign.lower(), str(by_key(world.dynamics_rows("campaign"), "campaignid")[campaign.lower()]["codename"])


def _change_status(world: World, program: int, status: str, person: int) -> None:
    body = {"statusName": status, "input": [{"leadId": person}]}
    world.engine.marketo.client.call("POST", f"/rest/v1/programs/{program}/members/status.json", json=body)


def _person(world: World, email: str) -> int:
    return int(next(p["id"] for p in world.marketo_rows("lead") if p.get("email") == email))


def test_a_linked_contacts_status_change_becomes_one_response_on_the_campaign(world: World, mapping: Path) -> None:
    webinar = _webinar(world)
    campaign, code = _campaign(world, "Webinar follow-up")
    mapping.write_text(_rules(webinar["name"], code))
    engine = world.restart()
    attendee = _person(world, "attendee@example.com")
    walk_in = engine.marketo.persons.upsert([{"email": "walkin@example.com", "lastName": "Walk-in"}])[0].id
    assert walk_in is not None
    since = engine.marketo.activities.paging_token(datetime.now(UTC).replace(microsecond=0))
    for person in (attendee, walk_in):
        _change_status(world, webinar["id"], "Registered", person)  # none: no response
        _change_status(world, webinar["id"], "Attended", person)  # Interested, for the linked one only
    assert run_once(engine, SyncObject.PERSON).outcome.value == "succeeded"
    run_once(engine, SyncObject.PERSON)

    (response,) = world.dynamics_rows("campaignresponse")
    contact = next(
        r["contactid"] for r in world.dynamics_rows("contact") if r["emailaddress1"] == "attendee@example.com"
    )
    assert response["regardingobjectid"] == ["campaign", campaign]
    assert (response["responsecode"], response["channeltypecode"]) == (1, 6)  # Interested, Others
    assert response["subject"] == f"{webinar['name']}: Attended"
    assert response["receivedon"][:10] == datetime.now(UTC).date().isoformat()  # a date-only column
    (party,) = world.dynamics_rows("activityparty")
    assert (party["partyid"], party["participationtypemask"]) == (["contact", contact], 11)

    activities = [a for page in engine.marketo.activities.read_activities(since, (104,)) for a in page.activities]
    replayed = respond(engine, activities)  # Marketo returns them again, or the sweep reads them
    assert (replayed.written, replayed.unchanged) == (0, 1) and len(world.dynamics_rows("campaignresponse")) == 1


def test_a_mapping_naming_what_neither_side_has_stops_the_start_with_every_problem(world: World, mapping: Path) -> None:
    webinar = _webinar(world)
    _, code = _campaign(world, "Real campaign")
    wrong = _rules(webinar["name"][:-1] + "9", code[:-1] + "?", channel="Carrier pigeon")
    mapping.write_text(wrong.replace("Attended: Interested", "Atended: Intrested"))
    with pytest.raises(MappingError) as raised:
        world.restart()
    problems = "\n".join(raised.value.problems)
    assert f"Marketo has no program '{webinar['name'][:-1]}9'; closest: {webinar['name']}" in problems
    assert f"Dynamics has no campaign with the id or code '{code[:-1]}?'; closest: {code}" in problems
    assert "'Carrier pigeon' is no response channel" in problems
    assert "'Intrested' is no response code (or none); closest: Interested" in problems
    assert len(raised.value.problems) == 4  # the status is checked against a program that was found


def test_a_refused_response_goes_to_the_errors_table_holds_nothing_and_is_made_when_retried(
    world: World, mapping: Path
) -> None:
    webinar = _webinar(world)
    _, code = _campaign(world, "Refusing")
    mapping.write_text(_rules(webinar["name"], code))
    engine = world.restart()
    attendee = _person(world, "attendee@example.com")
    fault(world.dataverse, path="/api/data/v9.2/campaignresponses", method="POST", status=400, times=1)
    _change_status(world, webinar["id"], "Attended", attendee)
    world.update("contact", world.dynamics_rows("contact")[0]["contactid"], {"jobtitle": "Still flows"})
    assert run_once(engine, SyncObject.PERSON).outcome.value == "succeeded"  # the stream is not held
    (error,) = world.store.errors.list(SyncObject.CAMPAIGN)
    assert (error.direction, error.kind, error.marketo_id) == (M2D, "bad_record", str(attendee))
    assert world.dynamics_rows("campaignresponse") == []
    world.store.errors.request_retry(SyncObject.CAMPAIGN)
    run_once(engine, SyncObject.PERSON)
    assert (
        len(world.dynamics_rows("campaignresponse")) == 1 and list(world.store.errors.list(SyncObject.CAMPAIGN)) == []
    )
