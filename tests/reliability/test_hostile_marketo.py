"""Marketo as its own documents say it behaves, not as a kind emulator would: activities committed
minutes after their date behind a date-based paging token, the same activity on two pages,
activities without an id, a Dynamics id field it takes no lookup by. Every Marketo edit reaches
Dynamics, exactly once; every record has one person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import pytest

from sync.engine.check import Status, run_check
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store.runs import RunOutcome, RunRecord
from tests.emulator_support import control
from tests.sync_support import World

EDITORS: Final = 4  # persons edited in Marketo each minute
MINUTE: Final = 60


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    made = make_sync_world()
    for n in range(40):
        made.create("contact", {"lastname": f"Late {n}", "emailaddress1": f"late{n}@example.com"})
    for obj in FULL_COPY_ORDER:
        full_copy(made.engine, obj)
    return made


def _persons(world: World) -> dict[str, dict[str, Any]]:
    return {p["dynamicsId"]: p for p in world.marketo_rows("lead") if p.get("dynamicsId")}


def _a_minute_of_person_runs(world: World) -> RunRecord:
    """Marketo's clock moves a minute; then the person timer fires."""
    control(world.marketo, "POST", "clock", {"advance_seconds": MINUTE})
    record = run_once(world.engine, SyncObject.PERSON)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    return record


def _edit_for_ten_minutes_then_wait(world: World) -> tuple[dict[str, str], list[RunRecord]]:
    """Four persons edited a minute for ten minutes, each once, runs every minute; then twenty
    quiet minutes, long enough for the latest commit and two sweeps past it."""
    persons = list(_persons(world).values())
    edits: dict[str, str] = {}
    runs: list[RunRecord] = []
    for minute in range(10):
        batch = persons[minute * EDITORS : (minute + 1) * EDITORS]
        titles = [{"id": p["id"], "title": f"Edited in minute {minute} ({p['id']})"} for p in batch]
        world.engine.marketo.persons.upsert(titles, action="updateOnly", lookup_field="id")
        edits.update({p["dynamicsId"]: t["title"] for p, t in zip(batch, titles, strict=True)})
        runs.append(_a_minute_of_person_runs(world))
    runs += [_a_minute_of_person_runs(world) for _ in range(20)]
    return edits, runs


def _titles(world: World) -> dict[str, str]:
    return {r["contactid"]: r.get("jobtitle") or "" for r in world.dynamics_rows("contact")}


def test_activities_committed_up_to_five_minutes_late_reach_dynamics_exactly_once(world: World) -> None:
    control(world.marketo, "POST", "activity-commits", {"late_share": 0.3, "late_max_s": 300, "seed": 7})
    edits, runs = _edit_for_ten_minutes_then_wait(world)
    titles = _titles(world)
    assert {contact: titles[contact] for contact in edits} == edits  # none lost
    assert sum(r.written for r in runs) == len(edits)  # each merged once: the sweep's re-reads are echoes
    swept = [r.message for r in runs if "late-activity sweep found" in r.message]
    assert swept, "no activity was late: the fault did not bite"


def test_repeated_activities_and_activities_without_ids_are_each_applied_once(world: World) -> None:
    control(world.marketo, "POST", "activity-commits", {"repeat_share": 0.5, "ids": "absent", "seed": 3})
    edits, runs = _edit_for_ten_minutes_then_wait(world)
    titles = _titles(world)
    assert {contact: titles[contact] for contact in edits} == edits
    assert sum(r.written for r in runs) == len(edits)


def test_persons_without_an_email_sync_once_when_marketo_takes_no_lookup_by_the_dynamics_id(
    make_sync_world: Callable[..., World],
) -> None:
    world = make_sync_world()
    control(world.marketo, "PATCH", "fields/lead/dynamicsId", {"searchable": False})
    world.restart()
    assert not world.engine.mapping.id_is_lookup
    lines = {line.subject: line for line in run_check(world.settings).lines}
    assert lines["Lookup by Dynamics id"].status is Status.WARNING
    contacts = [world.create("contact", {"lastname": f"No email {n}"}) for n in range(5)]
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)
    world.update("contact", contacts[0], {"jobtitle": "Found by its Marketo id"})
    assert run_once(world.engine, SyncObject.CONTACT).outcome is RunOutcome.SUCCEEDED
    persons = [p for p in world.marketo_rows("lead") if p.get("dynamicsEntityType") == "contact"]
    assert sorted(p["dynamicsId"] for p in persons) == sorted(c.lower() for c in contacts)  # one each
    assert next(p for p in persons if p["dynamicsId"] == contacts[0].lower())["title"] == "Found by its Marketo id"
