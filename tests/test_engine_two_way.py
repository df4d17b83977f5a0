"""Leads and contacts both ways, one rule per test, against both emulators and Azurite: Marketo
edits reach Dynamics, conflicts go to the winner whichever side notices first, nothing echoes,
a qualified lead's contact keeps its person, deletions and merges in Marketo, recovery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.mapping.types import FieldType
from sync.objects import FULL_COPY_ORDER, Direction, SyncObject
from sync.store.links import DynamicsRef
from sync.store.runs import RunOutcome
from tests.emulator_support import control
from tests.sync_support import Crash, World, by_key

M2D = Direction.MARKETO_TO_DYNAMICS


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world()


def _copy(world: World) -> None:
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)


def _cycle(world: World, *objects: SyncObject) -> None:
    for obj in objects or FULL_COPY_ORDER:
        record = run_once(world.engine, obj)
        assert record.outcome is RunOutcome.SUCCEEDED, f"{obj}: {record.message}"


def _person(world: World, dynamics_id: str) -> dict[str, Any]:
    return by_key(world.marketo_rows("lead"), "dynamicsId")[dynamics_id.lower()]


def _row(world: World, table: str, record_id: str) -> dict[str, Any]:
    return next(r for r in world.dynamics_rows(table) if r[f"{table}id"] == record_id)


def _edit_in_marketo(world: World, person_id: int, **values: Any) -> None:
    world.engine.marketo.persons.upsert([{"id": person_id, **values}], action="updateOnly", lookup_field="id")


def _writes(world: World) -> tuple[int, int]:
    dataverse = int(control(world.dataverse, "GET", "stats")["writes"])
    return world.marketo_writes(), dataverse


def test_a_marketo_edit_of_a_linked_contact_reaches_dynamics_in_one_person_run(world: World) -> None:
    contact = world.create("contact", {"firstname": "Ada", "lastname": "Byron", "emailaddress1": "ada@example.com"})
    _copy(world)
    _edit_in_marketo(world, _person(world, contact)["id"], lastName="Lovelace", title="Countess")
    _cycle(world, SyncObject.PERSON)
    row = _row(world, "contact", contact)
    assert (row["lastname"], row["jobtitle"]) == ("Lovelace", "Countess")


@pytest.mark.parametrize("first", [SyncObject.PERSON, SyncObject.CONTACT], ids=["marketo-read-first", "dynamics-first"])
def test_a_contact_field_changed_on_both_sides_goes_to_dynamics(world: World, first: SyncObject) -> None:
    contact = world.create("contact", {"lastname": "Base", "emailaddress1": "c@example.com", "jobtitle": "Base"})
    _copy(world)
    _edit_in_marketo(world, _person(world, contact)["id"], title="From Marketo", city="Marketo City")
    world.update("contact", contact, {"jobtitle": "From Dynamics", "firstname": "Dyn"})
    _cycle(world, first)
    _cycle(world)
    person, row = _person(world, contact), _row(world, "contact", contact)
    assert person["title"] == row["jobtitle"] == "From Dynamics"  # the conflict: Dynamics wins contacts
    assert person["firstName"] == row["firstname"] == "Dyn"  # changed on one side only: merged
    assert person["city"] == row["address1_city"] == "Marketo City"  # likewise, the other way


@pytest.mark.parametrize("first", [SyncObject.PERSON, SyncObject.LEAD], ids=["marketo-read-first", "dynamics-first"])
def test_a_lead_field_changed_on_both_sides_goes_to_marketo(world: World, first: SyncObject) -> None:
    lead = world.create("lead", {"lastname": "Base", "emailaddress1": "l@example.com", "companyname": "Base"})
    _copy(world)
    _edit_in_marketo(world, _person(world, lead)["id"], company="Marketo Inc")
    world.update("lead", lead, {"companyname": "Dynamics Ltd"})
    _cycle(world, first)
    _cycle(world)
    assert _person(world, lead)["company"] == _row(world, "lead", lead)["companyname"] == "Marketo Inc"


def test_newest_wins_where_the_mapping_says_so(
    world: World, make_sync_world: Callable[..., World], tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("objects:\n  contact:\n    winner: newest\n")
    newest = make_sync_world(SYNC_MAPPING_FILE=str(mapping))
    contact = newest.create("contact", {"lastname": "Base", "emailaddress1": "n@example.com"})
    _copy(newest)
    newest.update("contact", contact, {"jobtitle": "Older, from Dynamics"})
    control(newest.marketo, "POST", "clock", {"advance_seconds": 120})  # Marketo's edit is two minutes later
    _edit_in_marketo(newest, _person(newest, contact)["id"], title="Newer, from Marketo")
    _cycle(newest)
    assert _row(newest, "contact", contact)["jobtitle"] == "Newer, from Marketo"


def test_a_date_only_column_travels_as_a_date_both_ways(make_sync_world: Callable[..., World], tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("objects:\n  contact:\n    fields:\n      - {dynamics: birthdate, marketo: dateOfBirth}\n")
    dated = make_sync_world(SYNC_MAPPING_FILE=str(mapping))
    birthdate = next(f for f in dated.engine.mapping.table("contact").fields if f.dynamics == "birthdate")
    assert birthdate.spec.type is FieldType.DATE  # DateTimeBehavior DateOnly: Edm.Date, no time, no zone
    contact = dated.create(
        "contact", {"lastname": "Born", "emailaddress1": "born@example.com", "birthdate": "1990-05-17"}
    )
    _copy(dated)
    assert _person(dated, contact)["dateOfBirth"] == "1990-05-17"
    _edit_in_marketo(dated, _person(dated, contact)["id"], dateOfBirth="1991-12-31")
    _cycle(dated)
    assert _row(dated, "contact", contact)["birthdate"] == "1991-12-31"  # a moment would be refused as Edm.Date


def test_after_both_sides_converge_a_full_cycle_writes_nothing_on_either_side(world: World) -> None:
    contact = world.create("contact", {"lastname": "Quiet", "emailaddress1": "q@example.com"})
    lead = world.create("lead", {"lastname": "Quiet", "emailaddress1": "ql@example.com"})
    _copy(world)
    _edit_in_marketo(world, _person(world, contact)["id"], title="M")
    world.update("lead", lead, {"jobtitle": "D"})
    _cycle(world)
    _cycle(world)  # the echoes of the first cycle's writes are read back and dropped
    before = _writes(world)
    _cycle(world)
    assert _writes(world) == before


def test_a_qualified_leads_contact_takes_over_its_person_and_the_lead_is_never_written(world: World) -> None:
    lead = world.create("lead", {"firstname": "Grace", "lastname": "Hopper", "emailaddress1": "grace@example.com"})
    _copy(world)
    person_id = _person(world, lead)["id"]
    created = world.user.qualify_lead(lead, account=False, contact=True)
    contact = next(c["contactid"] for c in created if c["@odata.type"].endswith("contact"))
    _cycle(world)
    persons = world.marketo_rows("lead")
    assert len(persons) == 1  # no second person
    assert (persons[0]["id"], persons[0]["dynamicsId"], persons[0]["dynamicsEntityType"]) == (
        person_id,
        contact.lower(),
        "contact",
    )
    _edit_in_marketo(world, person_id, title="Rear Admiral")
    _cycle(world)
    assert _row(world, "contact", contact)["jobtitle"] == "Rear Admiral"  # Marketo edits reach the contact
    assert _row(world, "lead", lead).get("jobtitle") is None  # the read-only lead is never written
    lead_link = world.store.links.get_by_dynamics(DynamicsRef(table="lead", id=lead))
    assert lead_link is not None and lead_link.qualified_into == contact.lower()


def test_a_qualified_lead_read_before_its_contacts_link_is_stored_never_takes_the_person_back(world: World) -> None:
    """The contact's run wrote the takeover and died before its links were stored (they wait in
    its page journal); the lead's run then reads the qualification with the old link."""
    lead = world.create("lead", {"firstname": "Ada", "lastname": "Lovelace", "emailaddress1": "ada@example.com"})
    _copy(world)
    created = world.user.qualify_lead(lead, account=False, contact=True)
    contact = next(c["contactid"] for c in created if c["@odata.type"].endswith("contact")).lower()
    store, save = world.store, world.store.checkpoints.save

    def dies(checkpoint: Any) -> Any:
        raise Crash

    store.checkpoints.save = dies  # type: ignore[method-assign]
    with pytest.raises(Crash):
        run_once(world.engine, SyncObject.CONTACT)
    store.checkpoints.save = save  # type: ignore[method-assign]
    world.restart()
    assert _person(world, contact)["dynamicsEntityType"] == "contact"  # taken over in Marketo, not yet in the store

    _cycle(world, SyncObject.LEAD)
    assert _person(world, contact)["dynamicsEntityType"] == "contact"  # the lead did not take it back
    error = world.store.errors.get(SyncObject.LEAD, Direction.DYNAMICS_TO_MARKETO, lead.lower())
    assert error is not None and error.code == "claimed" and contact in error.message

    _cycle(world, SyncObject.CONTACT)  # the journaled links are stored: the lead's says its contact has it
    world.store.errors.request_retry(SyncObject.LEAD)
    _cycle(world, SyncObject.LEAD)
    assert world.store.errors.get(SyncObject.LEAD, Direction.DYNAMICS_TO_MARKETO, lead.lower()) is None
    assert [(p["dynamicsId"], p["dynamicsEntityType"]) for p in world.marketo_rows("lead")] == [(contact, "contact")]


def test_a_crash_after_the_person_stream_wrote_dynamics_and_before_its_checkpoint_loses_and_repeats_nothing(
    world: World,
) -> None:
    contact = world.create("contact", {"lastname": "Crash", "emailaddress1": "crash@example.com"})
    _copy(world)
    _edit_in_marketo(world, _person(world, contact)["id"], title="Before the crash")
    store, save = world.store, world.store.checkpoints.save

    def dies(checkpoint: Any) -> Any:
        if checkpoint.object is SyncObject.PERSON:
            raise Crash
        return save(checkpoint)

    store.checkpoints.save = dies  # type: ignore[method-assign]
    dataverse_writes = _writes(world)[1]
    with pytest.raises(Crash):
        run_once(world.engine, SyncObject.PERSON)
    store.checkpoints.save = save  # type: ignore[method-assign]
    assert _row(world, "contact", contact)["jobtitle"] == "Before the crash"  # written, checkpoint not moved
    assert _writes(world)[1] == dataverse_writes + 1
    world.restart()  # a new process; the dead one's lease is taken over at once (same host, pid gone)
    _cycle(world, SyncObject.PERSON)
    assert _row(world, "contact", contact)["jobtitle"] == "Before the crash"
    assert _writes(world)[1] == dataverse_writes + 1  # the re-read activity is an echo: not written again


def test_a_person_deleted_in_marketo_drops_the_link_and_comes_back_when_the_record_changes(world: World) -> None:
    contact = world.create("contact", {"lastname": "Gone", "emailaddress1": "g@example.com"})
    _copy(world)
    old = _person(world, contact)["id"]
    world.engine.marketo.persons.delete([old])
    _cycle(world, SyncObject.PERSON)
    assert world.store.links.get_by_dynamics(DynamicsRef(table="contact", id=contact)) is None
    assert _row(world, "contact", contact)["lastname"] == "Gone"  # nothing deleted in Dynamics
    notices = world.store.notices.list("person_deleted", SyncObject.CONTACT)
    assert [n.subject for n in notices] == [contact.lower()]
    world.update("contact", contact, {"jobtitle": "Back"})
    _cycle(world)
    assert _person(world, contact)["id"] != old


def test_merged_marketo_persons_keep_the_survivor_linked(world: World) -> None:
    kept = world.create("contact", {"lastname": "Kept", "emailaddress1": "k@example.com"})
    merged = world.create("contact", {"lastname": "Merged", "emailaddress1": "m@example.com"})
    _copy(world)
    survivor, loser = _person(world, kept)["id"], _person(world, merged)["id"]
    world.engine.marketo.client.call("POST", f"/rest/v1/leads/{survivor}/merge.json", params={"leadId": loser})
    _edit_in_marketo(world, survivor, title="After the merge")
    _cycle(world)
    link = world.store.links.get_by_dynamics(DynamicsRef(table="contact", id=kept))
    assert link is not None and link.marketo.id == str(survivor)
    assert _row(world, "contact", kept)["jobtitle"] == "After the merge"
    assert world.store.links.get_by_dynamics(DynamicsRef(table="contact", id=merged)) is None


def test_a_value_dynamics_refuses_goes_to_the_errors_table_and_the_rest_flows(world: World) -> None:
    good = world.create("lead", {"lastname": "Good", "emailaddress1": "good@example.com"})
    bad = world.create("lead", {"lastname": "Bad", "emailaddress1": "bad@example.com"})
    _copy(world)
    _edit_in_marketo(world, _person(world, bad)["id"], rating="Lukewarm")  # not a label of the option set
    _edit_in_marketo(world, _person(world, good)["id"], title="Fine")
    record = run_once(world.engine, SyncObject.PERSON)
    assert (record.outcome, record.failed) == (RunOutcome.SUCCEEDED, 1)
    error = world.store.errors.get(SyncObject.LEAD, M2D, bad.lower())
    assert error is not None and error.kind == "bad_record" and "Lukewarm" in error.message
    assert _row(world, "lead", good)["jobtitle"] == "Fine"


def test_a_marketo_error_of_a_record_deleted_since_clears_at_its_retry(world: World) -> None:
    bad = world.create("lead", {"lastname": "Bad", "emailaddress1": "bad@example.com"})
    _copy(world)
    _edit_in_marketo(world, _person(world, bad)["id"], rating="Lukewarm")
    _cycle(world, SyncObject.PERSON)
    assert world.store.errors.get(SyncObject.LEAD, M2D, bad.lower()) is not None
    world.delete("lead", bad)
    _cycle(world, SyncObject.LEAD)  # its link is marked deleted: nothing left to bring to Dynamics
    world.store.errors.request_retry(SyncObject.LEAD)
    _cycle(world, SyncObject.PERSON)
    assert world.store.errors.get(SyncObject.LEAD, M2D, bad.lower()) is None


def test_a_token_unread_for_14_days_rebaselines_and_finds_what_was_missed(world: World) -> None:
    contact = world.create("contact", {"lastname": "Away", "emailaddress1": "a@example.com"})
    other = world.create("contact", {"lastname": "Other", "emailaddress1": "o@example.com"})
    _copy(world)
    _edit_in_marketo(world, _person(world, contact)["id"], title="Missed")
    world.engine.marketo.persons.delete([_person(world, other)["id"]])
    control(world.marketo, "POST", "clock", {"advance_seconds": 15 * 24 * 3600})  # Marketo prunes the deletion
    checkpoint = world.store.checkpoints.get(SyncObject.PERSON, M2D)
    assert checkpoint is not None
    from datetime import UTC, datetime, timedelta

    from sync.engine.person_stream import PersonCursor

    cursor = PersonCursor.model_validate_json(checkpoint.cursor or "")
    aged = cursor.model_copy(update={"read_at": datetime.now(UTC) - timedelta(days=15)})
    world.store.checkpoints.save(checkpoint.advanced(cursor=aged.model_dump_json()))
    record = run_once(world.engine, SyncObject.PERSON)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    assert "checked (1 deletion(s) found, 1 merged)" in record.message
    assert _row(world, "contact", contact)["jobtitle"] == "Missed"
    assert world.store.links.get_by_dynamics(DynamicsRef(table="contact", id=other)) is None


def test_a_lost_store_is_rebuilt_from_the_ids_on_the_records_with_nothing_duplicated(world: World) -> None:
    contacts = [world.create("contact", {"lastname": f"R{n}", "emailaddress1": f"r{n}@example.com"}) for n in range(5)]
    no_email = world.create("contact", {"lastname": "NoEmail"})
    _copy(world)
    before = {p["dynamicsId"]: p["id"] for p in world.marketo_rows("lead")}
    world.store.tables.drop_all()
    world.store.tables.ensure()
    world.restart()
    _copy(world)
    after = {p["dynamicsId"]: p["id"] for p in world.marketo_rows("lead")}
    assert after == before and len(world.marketo_rows("lead")) == 6
    for record_id in [*contacts, no_email]:
        assert world.store.links.get_by_dynamics(DynamicsRef(table="contact", id=record_id)) is not None


def test_a_refreshed_dynamics_org_rebaselines_every_stream_and_keeps_the_links(world: World) -> None:
    from sync.engine.org_identity import ORG_CHANGED, ORG_KEY

    contacts = [world.create("contact", {"lastname": f"S{n}", "emailaddress1": f"s{n}@example.com"}) for n in range(3)]
    _copy(world)
    persons = {p["dynamicsId"]: p["id"] for p in world.marketo_rows("lead")}
    world.store.meta.put(ORG_KEY, "00000000-0000-0000-0000-00000000dead")  # the store was written for another org
    world.update("contact", contacts[0], {"jobtitle": "Changed in the refreshed org"})
    engine = world.restart()  # the start notices
    assert [n.detail["previous"] for n in world.store.notices.list(ORG_CHANGED, SyncObject.PERSON)] == [
        "00000000-0000-0000-0000-00000000dead"
    ]
    writes = world.marketo_writes()
    record = run_once(engine, SyncObject.CONTACT)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    assert record.read == 3 and world.marketo_writes() - writes == 1  # every row read, one written
    assert _person(world, contacts[0])["title"] == "Changed in the refreshed org"
    assert {p["dynamicsId"]: p["id"] for p in world.marketo_rows("lead")} == persons  # same persons, linked


def test_a_quiet_cycle_of_every_object_costs_one_marketo_call(world: World) -> None:
    world.create("contact", {"lastname": "Idle", "emailaddress1": "idle@example.com"})
    _copy(world)
    _cycle(world)
    _cycle(world)
    before = world.engine.marketo.client.limiter.calls_made
    for _ in range(10):
        _cycle(world)
    assert world.engine.marketo.client.limiter.calls_made - before == 10  # the person stream's one page


def test_a_quiet_marketo_costs_a_call_a_minute_and_two_a_sweep_so_2040_a_day(world: World) -> None:
    world.create("contact", {"lastname": "Idle", "emailaddress1": "idle@example.com"})
    _copy(world)
    _cycle(world, SyncObject.PERSON)
    before = world.engine.marketo.client.limiter.calls_made
    for _ in range(12):  # twelve minutes of Marketo's clock: two sweeps, five minutes apart
        control(world.marketo, "POST", "clock", {"advance_seconds": 60})
        _cycle(world, SyncObject.PERSON)
    assert world.engine.marketo.client.limiter.calls_made - before == 12 + 2 * 2  # + 24 usage reads a day


def test_a_paging_token_marketo_no_longer_accepts_rebaselines_instead_of_failing(world: World) -> None:
    contact = world.create("contact", {"lastname": "Token", "emailaddress1": "t@example.com"})
    _copy(world)
    _edit_in_marketo(world, _person(world, contact)["id"], title="Seen by the re-check")
    checkpoint = world.store.checkpoints.get(SyncObject.PERSON, M2D)
    assert checkpoint is not None
    from sync.engine.person_stream import PersonCursor

    cursor = PersonCursor.model_validate_json(checkpoint.cursor or "")
    broken = cursor.model_copy(update={"token": "NOT-A-TOKEN"})
    world.store.checkpoints.save(checkpoint.advanced(cursor=broken.model_dump_json()))
    record = run_once(world.engine, SyncObject.PERSON)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    assert "is no longer accepted by Marketo: every linked person was checked" in record.message
    assert _row(world, "contact", contact)["jobtitle"] == "Seen by the re-check"
