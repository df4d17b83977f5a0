"""Resync and Quick Sync against both emulators and Azurite: several fields go in one write (the
Marketo calls of one field), a window on Dynamics' created or modified dates writes only the
records in it, and a value empty in Dynamics clears the field in Marketo."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from sync.engine.full_copy import full_copy
from sync.engine.resync import ResyncError, ResyncRequest, resync_page, resync_total
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from tests.sync_support import World, by_key


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world()


def _contacts(world: World, count: int, **values: Any) -> list[str]:
    made = [
        world.create("contact", {"lastname": f"Q{n}", "emailaddress1": f"q{n}@example.com", **values})
        for n in range(count)
    ]
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)
    return made


def _persons(world: World) -> dict[str, dict[str, Any]]:
    return by_key(world.marketo_rows("lead"), "dynamicsId")


def _lose_in_marketo(world: World, **values: Any) -> None:
    """Values changed in Marketo behind the sync's back (a bad import, say), in one call."""
    changed = [{"id": p["id"], **values} for p in world.marketo_rows("lead")]
    world.engine.marketo.persons.upsert(changed, action="updateOnly", lookup_field="id")


def _resync(world: World, request: ResyncRequest) -> tuple[int, int]:
    """Every page of the request: (written, Marketo calls)."""
    before, written, cursor = world.engine.marketo.client.limiter.calls_made, 0, None
    while True:
        page = resync_page(world.engine, request, cursor)
        written += page.written
        if page.cursor is None:
            return written, world.engine.marketo.client.limiter.calls_made - before
        cursor = page.cursor


def test_several_fields_in_one_pass_cost_the_marketo_calls_of_one(world: World) -> None:
    _contacts(world, 5, jobtitle="Engineer", telephone1="555-0100", address1_city="Lisbon")
    _lose_in_marketo(world, title="", phone="", city="")
    one = _resync(world, ResyncRequest(object=SyncObject.CONTACT, fields=("jobtitle",)))
    _lose_in_marketo(world, title="", phone="", city="")
    three = _resync(world, ResyncRequest(object=SyncObject.CONTACT, fields=("title", "telephone1", "city")))
    assert (one[0], three[0]) == (5, 5)
    assert one[1] == three[1] == 1  # one update call for the page, whatever the fields
    restored = {(p["title"], p["phone"], p["city"]) for p in _persons(world).values()}
    assert restored == {("Engineer", "555-0100", "Lisbon")}


def test_quick_sync_writes_only_the_records_modified_since_the_window_opened(world: World) -> None:
    kept, edited, untouched = _contacts(world, 3, jobtitle="Before")
    _lose_in_marketo(world, title="Lost")
    time.sleep(1.1)  # Dataverse's dates go to the second
    opened = datetime.now(UTC)
    time.sleep(1.1)
    world.update("contact", edited, {"telephone1": "555-0199"})  # modified in the window; its title is the same
    request = ResyncRequest(object=SyncObject.CONTACT, fields=("jobtitle",), modified_since=opened)
    written, calls = _resync(world, request)
    titles = {d: p.get("title") for d, p in _persons(world).items()}
    assert (written, calls) == (1, 1)
    assert titles == {kept.lower(): "Lost", edited.lower(): "Before", untouched.lower(): "Lost"}
    assert resync_total(world.engine, request) == 1  # the window's rows, counted for the progress and ETA


def test_quick_sync_by_creation_date_leaves_older_records_alone(world: World) -> None:
    _contacts(world, 2, jobtitle="Old")
    time.sleep(1.1)
    opened = datetime.now(UTC)
    time.sleep(1.1)
    [new] = [world.create("contact", {"lastname": "New", "emailaddress1": "new@example.com", "jobtitle": "New"})]
    assert run_once(world.engine, SyncObject.CONTACT).written == 1  # the sync gives it its person
    _lose_in_marketo(world, title="Lost")
    written, _ = _resync(world, ResyncRequest(object=SyncObject.CONTACT, fields=("title",), created_since=opened))
    titles = sorted(str(p.get("title")) for p in _persons(world).values())
    assert written == 1 and titles == ["Lost", "Lost", "New"]
    assert _persons(world)[new.lower()]["title"] == "New"


def test_a_value_empty_in_dynamics_clears_the_field_in_marketo(world: World) -> None:
    [contact] = _contacts(world, 1)  # no job title in Dynamics
    _lose_in_marketo(world, title="Stale")
    written, _ = _resync(world, ResyncRequest(object=SyncObject.CONTACT, fields=("jobtitle",)))
    assert written == 1 and not _persons(world)[contact.lower()].get("title")


def test_a_field_that_does_not_flow_to_marketo_is_refused_by_name(world: World) -> None:
    with pytest.raises(ResyncError, match="no mapped field 'nickname'"):
        resync_page(world.engine, ResyncRequest(object=SyncObject.CONTACT, fields=("title", "nickname")), None)


def test_a_window_larger_than_dataverse_counts_has_no_total_rather_than_a_wrong_one(
    make_sync_world: Callable[..., World],
) -> None:
    world = make_sync_world(seed=5001)  # one more than $count counts
    since = datetime(2000, 1, 1, tzinfo=UTC)
    everything = ResyncRequest(object=SyncObject.CONTACT, fields=("jobtitle",), created_since=since)
    assert resync_total(world.engine, everything) is None
    later = ResyncRequest(object=SyncObject.CONTACT, fields=("jobtitle",), created_since=datetime.now(UTC))
    assert resync_total(world.engine, later) == 0
