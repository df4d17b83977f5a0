"""Dataverse as it can be met: a delta whose pages hold a row once per change (it changed twice
while the changes were listed), rows changed while pages are read. Every contact one person,
holding the row's last values; nothing written twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store.runs import RunOutcome
from tests.emulator_support import control
from tests.sync_support import World


def test_rows_changed_twice_in_one_delta_are_each_synced_once_as_they_are_last(
    make_sync_world: Callable[..., World],
) -> None:
    world = make_sync_world()
    contacts = [world.create("contact", {"lastname": f"C{n}", "emailaddress1": f"c{n}@example.com"}) for n in range(30)]
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)
    control(world.dataverse, "POST", "change-tracking", {"repeats": True})
    world.engine.dataverse.changes.page_size = 7  # rows repeated on one page and across pages
    for n, contact in enumerate(contacts[:20]):
        world.update("contact", contact, {"jobtitle": f"First {n}"})
        world.update("contact", contact, {"jobtitle": f"Last {n}"})
    fresh = [
        world.create("contact", {"lastname": f"New {n}", "emailaddress1": f"new{n}@example.com"}) for n in range(5)
    ]
    for contact in fresh:
        world.update("contact", contact, {"jobtitle": "Made and changed"})
    world.delete("contact", contacts[-1])
    record = run_once(world.engine, SyncObject.CONTACT)
    assert record.outcome is RunOutcome.SUCCEEDED, record.message
    persons = {p["dynamicsId"]: p for p in world.marketo_rows("lead") if p.get("dynamicsEntityType") == "contact"}
    counted = Counter(p["dynamicsId"] for p in world.marketo_rows("lead") if p.get("dynamicsId"))
    assert [k for k, n in counted.items() if n > 1] == []
    assert {c: persons[c]["title"] for c in contacts[:20]} == {c: f"Last {n}" for n, c in enumerate(contacts[:20])}
    assert {persons[c.lower()]["title"] for c in fresh} == {"Made and changed"}
    assert persons[contacts[-1]]["dynamicsIsDeleted"] is True
    assert record.written == 20 + 5 + 1  # each changed row written once, however often it came
