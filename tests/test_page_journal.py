"""The page journal: a crash after a page reached Marketo repeats no Marketo call for it — its
links come back from the journal — so a pipelined copy repeats at most the page being written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sync.engine.full_copy import advance_copy, begin_full_copy, full_copy
from sync.objects import SyncObject
from sync.store import SyncStore
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


def test_a_crash_between_the_journal_and_the_checkpoint_repeats_no_marketo_call(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_pages(world)
    writes = world.marketo_writes()
    _crash_on_call(monkeypatch, world.store.checkpoints, "save", 3)  # begin, page 1, then page 2's dies
    _copy_until_the_crash(world)
    _finish_in_a_new_process(world, monkeypatch)
    assert world.marketo_writes() - writes == CONTACTS // PAGE  # every page written once, page 2 included
    _each_contact_once_and_linked(world)


def test_a_crash_while_a_pages_links_are_stored_repeats_at_most_the_page_being_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_pages(world)
    writes = world.marketo_writes()
    _crash_on_call(monkeypatch, world.store.links, "upsert_many", 3)  # page 2's links (two calls a page)
    _copy_until_the_crash(world)
    _finish_in_a_new_process(world, monkeypatch)
    assert world.marketo_writes() - writes <= CONTACTS // PAGE + 1  # page 3, under way, written again
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
