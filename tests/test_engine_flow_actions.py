"""The native sync's flow actions as engine operations (behaviour §9): sync person, change owner,
create task — each idempotent, each refusing what it cannot do with a message that says why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sync.engine.flow_actions import FlowActionError, change_owner, create_task, sync_person
from sync.engine.full_copy import full_copy
from sync.objects import FULL_COPY_ORDER
from tests.sync_support import World, by_key


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    made = make_sync_world()
    for obj in FULL_COPY_ORDER:
        full_copy(made.engine, obj)
    return made


def _form_fill(world: World, **values: str) -> int:
    result = world.engine.marketo.persons.upsert([values])[0]
    assert result.id is not None
    return result.id


def test_sync_person_creates_a_lead_once_and_writes_its_id_onto_the_person(world: World) -> None:
    person = _form_fill(world, email="new@example.com", firstName="New", lastName="Lead", company="Acme")
    first = sync_person(world.engine, person)
    again = sync_person(world.engine, person)
    assert (first.how, again.how, again.dynamics) == ("created", "linked already", first.dynamics)
    leads = [r for r in world.dynamics_rows("lead") if r.get("emailaddress1") == "new@example.com"]
    assert len(leads) == 1 and (leads[0]["lastname"], leads[0]["companyname"]) == ("Lead", "Acme")
    marketo = by_key(world.marketo_rows("lead"), "id")[str(person)]
    assert (marketo["dynamicsId"], marketo["dynamicsEntityType"]) == (first.dynamics.id, "lead")


def test_sync_person_links_the_contact_with_its_email_instead_of_creating_one(world: World) -> None:
    contact = world.user.create(world.table("contact"), {"lastname": "Known", "emailaddress1": "known@example.com"})
    person = _form_fill(world, email="known@example.com", title="From the form")
    synced = sync_person(world.engine, person)
    assert (synced.how, synced.dynamics.table, synced.dynamics.id) == ("by email", "contact", contact)
    row = next(r for r in world.dynamics_rows("contact") if r["contactid"] == contact)
    assert row["jobtitle"] == "From the form"  # Dynamics had no title: Marketo's fills it
    assert len([r for r in world.dynamics_rows("lead") if r.get("emailaddress1") == "known@example.com"]) == 0


def test_change_owner_and_create_task_act_on_the_linked_record(world: World) -> None:
    person = _form_fill(world, email="owned@example.com", lastName="Owned")
    lead = sync_person(world.engine, person).dynamics
    team = world.user.create(world.table("team"), {"name": "Inside sales"})
    change_owner(world.engine, person, team.upper())
    row = next(r for r in world.dynamics_rows("lead") if r["leadid"] == lead.id)
    assert row["ownerid"] == ["team", team]
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    first = create_task(world.engine, person, "Call back", description="Asked for a demo", due=due)
    again = create_task(world.engine, person, "Call back", description="Asked for a demo", due=due)
    tasks = world.dynamics_rows("task")
    assert first == again and len(tasks) == 1
    assert (tasks[0]["subject"], tasks[0]["regardingobjectid"]) == ("Call back", ["lead", lead.id])


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda w, p: sync_person(w.engine, 999_999), "Marketo has no person 999999"),
        (lambda w, p: sync_person(w.engine, p, "account"), "persons sync to 'lead' or 'contact', not 'account'"),
        (lambda w, p: change_owner(w.engine, p, "x"), "is not linked to a Dynamics record; sync the person first"),
        (lambda w, p: create_task(w.engine, p, "Call"), "is not linked to a Dynamics record"),
    ],
)
def test_a_flow_action_that_cannot_be_done_says_why(
    world: World, action: Callable[[World, int], object], message: str
) -> None:
    person = _form_fill(world, email="unlinked@example.com")
    with pytest.raises(FlowActionError, match=message):
        action(world, person)
