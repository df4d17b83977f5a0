"""The engine's rules, one scenario each, against both emulators and Azurite: crashes, changes
during a full copy, first matching of persons, the sync filter, opportunity roles, teams,
failures and re-baselines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import Direction, SyncObject
from sync.store.links import DynamicsRef
from sync.store.notices import SHARED_EMAIL
from sync.store.runs import RunOutcome
from tests.emulator_support import control, fault
from tests.sync_support import World, by_key, crash_after_marketo_writes

D2M = Direction.DYNAMICS_TO_MARKETO


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world(seed=0)


def _contacts(world: World, n: int, start: int = 0, **extra: Any) -> list[str]:
    return [
        world.create(
            "contact", {"firstname": f"C{i}", "lastname": "Test", "emailaddress1": f"c{i}@example.com", **extra}
        )
        for i in range(start, start + n)
    ]


def _persons(world: World, entity: str = "contact") -> dict[str, dict[str, Any]]:
    return by_key([r for r in world.marketo_rows("lead") if r.get("dynamicsEntityType") == entity], "dynamicsId")


def test_an_unlinked_marketo_person_with_the_same_email_is_linked_not_duplicated(world: World) -> None:
    existing = world.engine.marketo.persons.upsert([{"email": "c0@example.com", "firstName": "From a form"}])[0]
    (contact,) = _contacts(world, 1)
    full_copy(world.engine, SyncObject.CONTACT)
    rows = world.marketo_rows("lead")
    assert len(rows) == 1
    assert (rows[0]["id"], rows[0]["dynamicsId"], rows[0]["firstName"]) == (existing.id, contact.lower(), "C0")


def test_several_unlinked_persons_with_the_email_make_a_sync_error_naming_them(world: World) -> None:
    marketo = world.engine.marketo.persons
    first = marketo.upsert([{"email": "c0@example.com", "lastName": "One"}], action="createDuplicate")[0]
    second = marketo.upsert([{"email": "c0@example.com", "lastName": "Two"}], action="createDuplicate")[0]
    (contact,) = _contacts(world, 1)
    full_copy(world.engine, SyncObject.CONTACT)
    error = world.store.errors.get(SyncObject.CONTACT, D2M, contact.lower())
    assert error is not None and error.kind == "bad_record" and error.code == "ambiguous-email"
    assert f"ids {first.id}, {second.id}" in error.message
    assert len(world.marketo_rows("lead")) == 2  # no guess, no third person


def test_a_second_record_with_an_email_already_linked_gets_its_own_person_and_is_listed(world: World) -> None:
    first = _contacts(world, 1)[0]
    second = world.create("contact", {"lastname": "Twin", "emailaddress1": "c0@example.com"})
    full_copy(world.engine, SyncObject.CONTACT)
    persons = _persons(world)
    assert {first.lower(), second.lower()} <= set(persons)
    assert persons[first.lower()]["id"] != persons[second.lower()]["id"]
    notices = world.store.notices.list(SHARED_EMAIL, SyncObject.CONTACT)
    assert [n.subject for n in notices] == ["c0@example.com"]


def test_the_sync_filter_stops_updates_and_turning_it_on_again_pushes_the_whole_record(world: World) -> None:
    skipped = world.create(
        "contact", {"lastname": "Private", "emailaddress1": "p@example.com", "new_synctomkto": False}
    )
    (kept,) = _contacts(world, 1)
    full_copy(world.engine, SyncObject.CONTACT)
    assert set(_persons(world)) == {kept.lower()}  # false: not synced

    world.update("contact", kept, {"new_synctomkto": False})
    world.update("contact", kept, {"jobtitle": "Hidden"})
    run_once(world.engine, SyncObject.CONTACT)
    assert _persons(world)[kept.lower()].get("title") is None  # true → false: Marketo left as it was

    world.update("contact", kept, {"new_synctomkto": True})
    world.update("contact", skipped, {"new_synctomkto": True})
    run_once(world.engine, SyncObject.CONTACT)
    persons = _persons(world)
    assert persons[kept.lower()]["title"] == "Hidden"  # false → true: the whole record
    assert persons[skipped.lower()]["lastName"] == "Private"


def test_a_person_deleted_in_marketo_is_created_again_when_its_record_changes(world: World) -> None:
    (contact,) = _contacts(world, 1)
    full_copy(world.engine, SyncObject.CONTACT)
    old = _persons(world)[contact.lower()]["id"]
    world.engine.marketo.persons.delete([old])
    world.update("contact", contact, {"jobtitle": "Back"})
    run_once(world.engine, SyncObject.CONTACT)
    person = _persons(world)[contact.lower()]
    assert person["id"] != old and person["title"] == "Back" and person["lastName"] == "Test"
    link = world.store.links.get_by_dynamics(DynamicsRef(table="contact", id=contact))
    assert link is not None and link.marketo.id == str(person["id"])


def test_stakeholders_and_the_customer_contact_become_opportunity_roles(world: World) -> None:
    account = world.create("account", {"name": "Contoso"})
    buyer, champion = _contacts(world, 2)
    opportunity = world.create("opportunity", {"name": "Deal", "customerid_contact@odata.bind": f"/contacts({buyer})"})
    role = world.create("connectionrole", {"name": "Champion", "category": 1000})
    connection = world.create(
        "connection",
        {
            "record1id_opportunity@odata.bind": f"/opportunities({opportunity})",
            "record2id_contact@odata.bind": f"/contacts({champion})",
            "record2roleid@odata.bind": f"/connectionroles({role})",
        },
    )
    for obj in (SyncObject.ACCOUNT, SyncObject.CONTACT, SyncObject.OPPORTUNITY, SyncObject.OPPORTUNITY_ROLE):
        full_copy(world.engine, obj)
    persons = _persons(world)
    roles = {(r["leadId"], r["role"], r["isPrimary"]) for r in world.marketo_rows("opportunityrole")}
    assert roles == {
        (persons[buyer.lower()]["id"], "Customer", True),
        (persons[champion.lower()]["id"], "Champion", False),
    }
    later = world.create(
        "connection",
        {
            "record1id_opportunity@odata.bind": f"/opportunities({opportunity})",
            "record2id_contact@odata.bind": f"/contacts({buyer})",
            "record2roleid@odata.bind": f"/connectionroles({role})",
        },
    )
    world.delete("connection", connection)
    world.update("opportunity", opportunity, {"customerid_account@odata.bind": f"/accounts({account})"})
    record = run_once(world.engine, SyncObject.OPPORTUNITY_ROLE)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    remaining = world.marketo_rows("opportunityrole")
    assert [(r["leadId"], r["role"]) for r in remaining] == [(persons[buyer.lower()]["id"], "Champion")]
    quiet = run_once(world.engine, SyncObject.OPPORTUNITY_ROLE)
    assert (quiet.written, quiet.marketo_calls) == (0, 0)
    assert world.store.links.get_by_dynamics(DynamicsRef(table="connection", id=later)) is not None


def test_a_role_whose_contact_is_not_in_marketo_yet_waits_in_the_errors_table(world: World) -> None:
    (contact,) = _contacts(world, 1)
    world.create("opportunity", {"name": "Deal", "customerid_contact@odata.bind": f"/contacts({contact})"})
    full_copy(world.engine, SyncObject.OPPORTUNITY)
    full_copy(world.engine, SyncObject.OPPORTUNITY_ROLE)  # before the contact was copied
    (error,) = list(world.store.errors.list(SyncObject.OPPORTUNITY_ROLE))
    assert (error.kind, error.code, error.table) == ("transient", "pending", "opportunitycustomer")
    full_copy(world.engine, SyncObject.CONTACT)
    world.store.errors.request_retry(SyncObject.OPPORTUNITY_ROLE)
    run_once(world.engine, SyncObject.OPPORTUNITY_ROLE)
    assert len(world.marketo_rows("opportunityrole")) == 1
    assert list(world.store.errors.list(SyncObject.OPPORTUNITY_ROLE)) == []


def test_teams_become_sales_persons_and_their_members_a_queryable_custom_object(world: World) -> None:
    user = world.create("systemuser", {"firstname": "Sam", "lastname": "Seller", "internalemailaddress": "s@c.com"})
    team = world.create("team", {"name": "EMEA", "teamtype": 0})
    membership = world.create("teammembership", {"teamid": team, "systemuserid": user})
    full_copy(world.engine, SyncObject.SYSTEMUSER)
    full_copy(world.engine, SyncObject.TEAM)
    sales = by_key(world.marketo_rows("salesperson"), "externalSalesPersonId")
    assert sales[team.lower()]["lastName"] == "EMEA" and sales[user.lower()]["firstName"] == "Sam"
    members = world.engine.marketo.custom_object("dynamicsTeamMember_c")
    found = members.query("teamMembershipId", [membership.lower()], ["teamId", "systemUserId"])
    assert [(r["teamId"], r["systemUserId"]) for r in found] == [(team.lower(), user.lower())]
    world.delete("teammembership", membership)
    run_once(world.engine, SyncObject.TEAM)
    assert world.marketo_rows("customobject/dynamicsTeamMember_c") == []


def test_a_record_marketo_refuses_goes_to_the_errors_table_and_the_rest_flows(world: World) -> None:
    good = _contacts(world, 2)
    bad = world.create("contact", {"lastname": "Bad", "emailaddress1": "not-an-email"})
    full_copy(world.engine, SyncObject.CONTACT)
    assert set(_persons(world)) == {g.lower() for g in good}
    error = world.store.errors.get(SyncObject.CONTACT, D2M, bad.lower())
    assert error is not None and (error.code, error.kind, error.attempts) == ("1003", "bad_record", 1)
    world.update("contact", bad, {"emailaddress1": "fixed@example.com"})
    world.store.errors.request_retry(SyncObject.CONTACT)
    run_once(world.engine, SyncObject.CONTACT)
    assert bad.lower() in _persons(world)
    assert world.store.errors.get(SyncObject.CONTACT, D2M, bad.lower()) is None


def test_a_systemic_failure_fails_the_run_and_leaves_the_checkpoint(world: World) -> None:
    _contacts(world, 1)
    full_copy(world.engine, SyncObject.CONTACT)
    _contacts(world, 2, start=10)
    before = world.store.checkpoints.get(SyncObject.CONTACT, D2M)
    fault(world.marketo, path="/rest/v1/leads.json", method="POST", error_code="607")
    record = run_once(world.engine, SyncObject.CONTACT)
    assert (record.outcome, record.failure_kind) == (RunOutcome.FAILED, "quota")
    assert "607" in record.message
    after = world.store.checkpoints.get(SyncObject.CONTACT, D2M)
    assert before is not None and after is not None and after.etag == before.etag
    control(world.marketo, "DELETE", "faults")
    assert run_once(world.engine, SyncObject.CONTACT).outcome is RunOutcome.SUCCEEDED
    assert len(_persons(world)) == 3


def test_an_expired_delta_link_rebaselines_writing_only_what_differs(world: World) -> None:
    ids = _contacts(world, 4)
    full_copy(world.engine, SyncObject.CONTACT)
    world.update("contact", ids[0], {"jobtitle": "Changed while away"})
    world.delete("contact", ids[1])
    control(world.dataverse, "POST", "clock", {"advance_seconds": 8 * 24 * 3600})
    writes = world.marketo_writes()
    record = run_once(world.engine, SyncObject.CONTACT)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    assert "re-baselining" in record.message and "1 deletion(s) found" in record.message
    persons = _persons(world)
    assert persons[ids[0].lower()]["title"] == "Changed while away"
    assert persons[ids[1].lower()]["dynamicsIsDeleted"] is True
    assert world.marketo_writes() - writes == 2  # the changed one and the deletion mark, nothing else


def test_two_new_records_sharing_the_email_of_one_unlinked_person_link_one_and_create_one(world: World) -> None:
    existing = world.engine.marketo.persons.upsert([{"email": "c0@example.com", "firstName": "From a form"}])[0]
    first = world.create("contact", {"lastname": "First", "emailaddress1": "c0@example.com"})
    second = world.create("contact", {"lastname": "Second", "emailaddress1": "C0@example.com"})
    full_copy(world.engine, SyncObject.CONTACT)
    persons = _persons(world)
    assert persons[first.lower()]["id"] == existing.id
    assert persons[second.lower()]["id"] != existing.id
    assert len(world.marketo_rows("lead")) == 2


def test_a_crash_mid_copy_of_opportunity_roles_loses_and_duplicates_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = _contacts(world, 7)
    opportunity = world.create("opportunity", {"name": "Deal"})
    role = world.create("connectionrole", {"name": "Influencer", "category": 1000})
    for contact in contacts:
        world.create(
            "connection",
            {
                "record1id_opportunity@odata.bind": f"/opportunities({opportunity})",
                "record2id_contact@odata.bind": f"/contacts({contact})",
                "record2roleid@odata.bind": f"/connectionroles({role})",
            },
        )
    full_copy(world.engine, SyncObject.CONTACT)
    full_copy(world.engine, SyncObject.OPPORTUNITY)
    crash_after_marketo_writes(world, SyncObject.OPPORTUNITY_ROLE, monkeypatch, page_size=3)
    persons = _persons(world)
    roles = world.marketo_rows("opportunityrole")
    assert sorted(r["leadId"] for r in roles) == sorted(persons[c.lower()]["id"] for c in contacts)
    record = run_once(world.engine, SyncObject.OPPORTUNITY_ROLE)
    assert (record.outcome, record.marketo_calls) == (RunOutcome.SUCCEEDED, 0)  # nothing left to write
