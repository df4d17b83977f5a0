"""The page journal: a crash after a page reached Marketo repeats no Marketo call for it — its
links come back from the journal — so a pipelined copy repeats at most the page being written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sync.engine.full_copy import advance_copy, begin_full_copy, full_copy
from sync.engine.page import WRITES_IN_FLIGHT
from sync.engine.run import run_once
from sync.engine.runtime import Engine
from sync.objects import SyncObject
from sync.store import SyncStore
from sync.store.links import DynamicsRef
from sync.store.notices import PERSON_DELETED
from tests.sync_support import Crash, World

PAGE = 3
CONTACTS = 12  # four pages


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    made = make_sync_world()
    for n in range(CONTACTS):
        made.create("contact", {"lastname": f"J{n}", "emailaddress1": f"j{n}@example.com"})
    return made


def _small_pages(world: World) -> None:
    world.engine.dataverse.changes.page_size = PAGE


def _crash_on_call(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, call: int) -> None:
    original, calls = getattr(owner, name), []

    def dies(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == call:
            raise Crash
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, dies)


def _copy_until_the_crash(world: World) -> None:
    checkpoint = begin_full_copy(world.engine, SyncObject.CONTACT)
    with pytest.raises(Crash):
        for _ in advance_copy(world.engine, checkpoint, set(), more=lambda: True):
            pass


def _finish_in_a_new_process(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    world.restart()
    _small_pages(world)
    full_copy(world.engine, SyncObject.CONTACT)


def _each_contact_once_and_linked(world: World) -> None:
    contacts = {r["contactid"] for r in world.dynamics_rows("contact")}
    persons = [p["dynamicsId"] for p in world.marketo_rows("lead")]
    assert sorted(persons) == sorted(contacts)
    assert {link.dynamics.id for link in world.store.links.iter_table("contact")} == contacts


def test_a_crash_between_the_journal_and_the_checkpoint_does_not_write_that_page_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_pages(world)
    writes = world.marketo_writes()
    _crash_on_call(monkeypatch, world.store.checkpoints, "save", 3)  # begin, page 1, then page 2's dies
    _copy_until_the_crash(world)
    _finish_in_a_new_process(world, monkeypatch)
    # page 2 is stored from its journal, not written again; only page 3, whose writes were queued
    # behind it (WRITES_IN_FLIGHT), is repeated: keyed, so nothing is created twice
    assert world.marketo_writes() - writes == CONTACTS // PAGE + WRITES_IN_FLIGHT - 1
    _each_contact_once_and_linked(world)


def test_a_crash_while_a_pages_links_are_stored_repeats_at_most_the_pages_being_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_pages(world)
    writes = world.marketo_writes()
    _crash_on_call(monkeypatch, world.store.links, "upsert_many", 3)  # page 2's links (two calls a page)
    _copy_until_the_crash(world)
    _finish_in_a_new_process(world, monkeypatch)
    assert world.marketo_writes() - writes <= CONTACTS // PAGE + WRITES_IN_FLIGHT  # the pages under way, again
    _each_contact_once_and_linked(world)


def test_a_journaled_page_round_trips_whatever_its_size(store: SyncStore) -> None:
    import os

    small, large = b'{"links": []}', os.urandom(1_500_000)  # incompressible: several rows of parts
    for payload in (small, large):
        assert store.journal.write(SyncObject.CONTACT, "contact", "before", "after", payload)
        pending = store.journal.pending(SyncObject.CONTACT, "contact")
        assert pending is not None and (pending.before, pending.after, pending.payload) == ("before", "after", payload)
    store.journal.mark_stored(SyncObject.CONTACT, "contact")
    assert store.journal.pending(SyncObject.CONTACT, "contact") is None
    assert not store.journal.write(SyncObject.CONTACT, "contact", "b", "a", os.urandom(3_000_000))  # too large
    assert store.journal.pending(SyncObject.CONTACT, "contact") is None  # nothing half-written


def test_a_crash_while_the_last_pages_links_are_stored_still_ends_with_every_link(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_pages(world)
    writes = world.marketo_writes()
    _crash_on_call(monkeypatch, world.store.links, "upsert_many", 7)  # page 4, the last, after its checkpoint
    _copy_until_the_crash(world)
    _finish_in_a_new_process(world, monkeypatch)  # nothing left to read: only the journal can bring its links
    assert world.marketo_writes() - writes == CONTACTS // PAGE
    _each_contact_once_and_linked(world)


def _a_new_contact_whose_links_wait_in_the_journal(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, Any], Engine]:
    """A contact created after the copy; its run wrote its person to Marketo and died before its
    checkpoint (so before storing its links); a new process."""
    for obj in (SyncObject.PERSON, SyncObject.CONTACT):
        full_copy(world.engine, obj)
    contact = world.create("contact", {"lastname": "Waiting", "emailaddress1": "waiting@example.com"})
    _crash_on_call(monkeypatch, world.store.checkpoints, "save", 1)
    with pytest.raises(Crash):
        run_once(world.engine, SyncObject.CONTACT)
    monkeypatch.undo()
    engine = world.restart()
    [person] = [p for p in world.marketo_rows("lead") if p.get("dynamicsId") == contact.lower()]
    return contact, person, engine


def test_a_journaled_link_to_a_person_deleted_since_is_not_stored_and_the_record_gets_a_new_person(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run that wrote the page dies before its links are stored; meanwhile the person is
    deleted in Marketo and the person stream, finding no link yet, drops nothing. Recovery must
    not link the record to the person that is gone."""
    contact, person, engine = _a_new_contact_whose_links_wait_in_the_journal(world, monkeypatch)
    engine.marketo.persons.delete([person["id"]])
    for obj in (SyncObject.PERSON, SyncObject.CONTACT):
        run_once(engine, obj)
    ref = DynamicsRef(table="contact", id=contact.lower())
    assert world.store.links.get_many_by_dynamics([ref]) == {}
    assert [n.subject for n in world.store.notices.list(PERSON_DELETED, SyncObject.CONTACT)] == [contact.lower()]
    world.update("contact", contact, {"jobtitle": "Back"})
    run_once(engine, SyncObject.CONTACT)
    again = [p for p in world.marketo_rows("lead") if p.get("dynamicsId") == contact.lower()]
    assert [(p["title"], p["id"] != person["id"]) for p in again] == [("Back", True)]


def test_a_marketo_edit_of_a_person_whose_link_waits_in_the_journal_reaches_dynamics(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person run comes first after the crash: it stores the journaled links before it
    reads the edit, instead of passing it by as an unlinked person's."""
    contact, person, engine = _a_new_contact_whose_links_wait_in_the_journal(world, monkeypatch)
    engine.marketo.persons.upsert([{"id": person["id"], "city": "Porto"}], action="updateOnly", lookup_field="id")
    run_once(engine, SyncObject.PERSON)
    row = next(r for r in world.dynamics_rows("contact") if r["contactid"] == contact)
    assert row.get("address1_city") == "Porto"
    assert world.store.journal.pending(SyncObject.CONTACT, "contact") is None
