"""Webhook-driven sync, through the change queue on Azurite and both emulators: a notice is a hint,
the record's current state is what crosses, so a notice posted twice, out of order or never comes
to one correct result; the sync's own writes echo back as nothing; a burst is one Marketo call per
300 persons; a busy object hands its notices to the run holding its lease; a bad message goes to the poison queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from sync.engine import changes
from sync.engine.changes import WAIT_S
from sync.engine.drain import drain, drain_all
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store import handover as handover_module
from sync.store.change_queue import MAX_DEQUEUE, ChangeQueue, ChangeRef
from sync.store.leases import Lease
from sync.store.runs import RunOutcome
from tests.emulator_support import control
from tests.sync_support import World, by_key


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    return make_sync_world()


@pytest.fixture
def no_echo_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Marketo edit made right after the copy is taken as an edit, not an echo of the copy."""
    monkeypatch.setattr(changes, "ECHO_WINDOW", timedelta(0))


@pytest.fixture
def queue(storage_connection: str, table_prefix: str) -> Iterator[ChangeQueue]:
    opened = ChangeQueue.open(storage_connection, f"{table_prefix.lower()}-changes")
    yield opened
    opened.clear()


def _copy(world: World) -> None:
    for obj in FULL_COPY_ORDER:
        full_copy(world.engine, obj)


def _dataverse(table: str, record_id: str, message: str = "Update") -> ChangeRef:
    return ChangeRef(source="dataverse", table=table, id=record_id, message=message)


def _marketo(person_id: int) -> ChangeRef:
    return ChangeRef(source="marketo", table="person", id=str(person_id))


def _person(world: World, dynamics_id: str) -> dict[str, Any] | None:
    return by_key(world.marketo_rows("lead"), "dynamicsId").get(dynamics_id.lower())


def _pushes(world: World) -> int:
    return int(control(world.marketo, "GET", "stats").get("writes", 0))


def _busy_contact(world: World, queue: ChangeQueue, lastname: str, title: str) -> tuple[str, Lease]:
    """A copied contact, its lease held by a timer run, edited and announced by a webhook."""
    contact = world.create("contact", {"lastname": lastname, "emailaddress1": f"{lastname.lower()}@example.com"})
    _copy(world)
    lease = world.store.leases.acquire(SyncObject.CONTACT, "a timer run", timedelta(minutes=5))
    assert lease is not None
    world.update("contact", contact, {"jobtitle": title})
    queue.put([_dataverse("contact", contact)])
    return contact, lease


def test_a_queued_dynamics_change_reaches_marketo_without_a_timer_run(world: World, queue: ChangeQueue) -> None:
    contact = world.create("contact", {"lastname": "Hopper", "emailaddress1": "grace@example.com"})
    _copy(world)
    world.update("contact", contact, {"jobtitle": "Rear Admiral"})
    queue.put([_dataverse("contact", contact)])
    [done] = drain_all(world.engine, queue)
    assert done.result.total().written == 1
    person = _person(world, contact)
    assert person is not None and person["title"] == "Rear Admiral"
    assert queue.depth() == (0, 0)


@pytest.mark.parametrize("posted", ["twice", "out-of-order", "never"])
def test_a_change_posted_twice_out_of_order_or_never_comes_to_one_result_after_the_next_timer_run(
    world: World, queue: ChangeQueue, posted: str
) -> None:
    kept = world.create("contact", {"lastname": "Kept", "emailaddress1": "kept@example.com"})
    gone = world.create("contact", {"lastname": "Gone", "emailaddress1": "gone@example.com"})
    _copy(world)
    world.update("contact", kept, {"jobtitle": "First"})
    first = [_dataverse("contact", kept)]
    world.update("contact", kept, {"jobtitle": "Second"})
    second = [_dataverse("contact", kept)]
    world.delete("contact", gone)
    deleted = [_dataverse("contact", gone, "Delete")]
    notices = {
        "twice": [first, second, second, deleted, deleted],
        "out-of-order": [deleted, second, first],  # the older notice last: it still reads the newest row
        "never": [],
    }[posted]
    for refs in notices:
        queue.put(refs)
    drain_all(world.engine, queue)
    for obj in FULL_COPY_ORDER:
        assert run_once(world.engine, obj).outcome is RunOutcome.SUCCEEDED
    people = [p for p in world.marketo_rows("lead") if p.get("dynamicsId") in (kept.lower(), gone.lower())]
    live = [p for p in people if not p.get("dynamicsIsDeleted")]
    assert [(p["dynamicsId"], p["title"]) for p in live] == [(kept.lower(), "Second")]
    assert len(people) == 2  # the deleted one is marked, never duplicated, never remade


@pytest.mark.usefixtures("no_echo_window")
def test_the_syncs_own_write_announced_by_dynamics_writes_nothing_back(world: World, queue: ChangeQueue) -> None:
    contact = world.create("contact", {"lastname": "Echo", "emailaddress1": "echo@example.com"})
    _copy(world)
    person = _person(world, contact)
    assert person is not None
    world.engine.marketo.persons.upsert(
        [{"id": person["id"], "title": "From Marketo"}], action="updateOnly", lookup_field="id"
    )
    queue.put([_marketo(int(person["id"]))])
    drain_all(world.engine, queue)
    assert next(r for r in world.dynamics_rows("contact") if r["contactid"] == contact)["jobtitle"] == "From Marketo"
    writes = _pushes(world)
    queue.put([_dataverse("contact", contact)])  # Dataverse's webhook for the sync's own update
    [echo] = drain_all(world.engine, queue)
    assert (echo.result.total().written, _pushes(world)) == (0, writes)


def test_a_burst_of_notices_is_one_marketo_call_per_300_persons(world: World, queue: ChangeQueue) -> None:
    ids = [world.create("contact", {"lastname": f"P{i}", "emailaddress1": f"p{i}@example.com"}) for i in range(40)]
    _copy(world)
    for record_id in ids:
        world.update("contact", record_id, {"jobtitle": "Burst"})
        queue.put([_dataverse("contact", record_id)])
    writes = _pushes(world)
    results = drain_all(world.engine, queue)
    assert [r.messages for r in results] == [40]
    assert _pushes(world) - writes == 1
    assert all(_person(world, i)["title"] == "Burst" for i in ids)  # type: ignore[index]


def test_notices_still_arriving_when_a_drain_starts_are_synced_in_that_drain(world: World, queue: ChangeQueue) -> None:
    """A mass update's notices come one commit after another (Dataverse posts them in order):
    the drain waits while they keep coming, so the burst costs one push, not one a poll."""
    ids = [world.create("contact", {"lastname": f"Q{i}", "emailaddress1": f"q{i}@example.com"}) for i in range(6)]
    _copy(world)
    for record_id in ids:
        world.update("contact", record_id, {"jobtitle": "Trickled"})
    queue.put([_dataverse("contact", ids[0])])

    def announce_the_rest() -> None:
        for record_id in ids[1:]:
            time.sleep(0.4)  # less than the drain's QUIET_S apart: still one burst
            queue.put([_dataverse("contact", record_id)])

    writes = _pushes(world)
    announcer = threading.Thread(target=announce_the_rest)
    announcer.start()
    done = drain(world.engine, queue)
    announcer.join()
    assert done.messages == 6
    assert _pushes(world) - writes == 1
    assert all(_person(world, i)["title"] == "Trickled" for i in ids)  # type: ignore[index]
    assert drain_all(world.engine, queue) == []


@pytest.mark.usefixtures("no_echo_window")
def test_a_marketo_notice_merges_a_linked_person_and_leaves_one_not_linked(world: World, queue: ChangeQueue) -> None:
    contact = world.create("contact", {"lastname": "Linked", "emailaddress1": "linked@example.com"})
    _copy(world)
    linked = _person(world, contact)
    assert linked is not None
    world.engine.marketo.persons.upsert(
        [{"id": linked["id"], "city": "Lisbon"}], action="updateOnly", lookup_field="id"
    )
    [stranger] = world.engine.marketo.persons.upsert([{"email": "stranger@example.com"}], action="createOnly")
    queue.put([_marketo(int(linked["id"])), _marketo(int(stranger.id or 0))])
    [done] = drain_all(world.engine, queue)
    assert next(r for r in world.dynamics_rows("contact") if r["contactid"] == contact)["address1_city"] == "Lisbon"
    assert done.result.ignored == 1
    assert all(r.get("emailaddress1") != "stranger@example.com" for r in world.dynamics_rows("contact"))


def test_marketos_notice_of_the_syncs_own_write_is_left_to_the_timer_at_no_call(
    world: World, queue: ChangeQueue
) -> None:
    contact = world.create("contact", {"lastname": "Own", "emailaddress1": "own@example.com"})
    _copy(world)
    world.update("contact", contact, {"jobtitle": "Pushed"})
    assert run_once(world.engine, SyncObject.CONTACT).written == 1
    person = _person(world, contact)
    assert person is not None
    queue.put([_marketo(int(person["id"]))])  # the trigger campaign heard the sync's own update
    calls = int(control(world.marketo, "GET", "stats")["total"])
    [done] = drain_all(world.engine, queue)
    assert (done.result.echoes, int(control(world.marketo, "GET", "stats")["total"])) == (1, calls)
    assert run_once(world.engine, SyncObject.PERSON).written == 0  # the activity read finds it in sync


def test_a_marketo_edit_right_after_the_sync_wrote_only_dynamics_is_an_edit_not_an_echo(
    world: World, queue: ChangeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "ECHO_WINDOW", timedelta(seconds=2))
    contact = world.create("contact", {"lastname": "Quick", "emailaddress1": "quick@example.com"})
    _copy(world)
    time.sleep(2.1)  # the copy's writes to Marketo are older than the window
    person = _person(world, contact)
    assert person is not None

    def edit(title: str) -> None:
        changed = [{"id": person["id"], "title": title}]
        world.engine.marketo.persons.upsert(changed, action="updateOnly", lookup_field="id")

    edit("First")
    assert run_once(world.engine, SyncObject.PERSON).written == 1  # Dynamics written, the link stored just now
    edit("Second")  # a marketer, a moment later
    queue.put([_marketo(int(person["id"]))])
    [done] = drain_all(world.engine, queue)
    assert (done.result.echoes, done.result.total().written) == (0, 1)
    assert next(r for r in world.dynamics_rows("contact") if r["contactid"] == contact)["jobtitle"] == "Second"


def test_a_busy_object_hands_its_notices_to_the_run_holding_its_lease(world: World, queue: ChangeQueue) -> None:
    contact, lease = _busy_contact(world, queue, "Busy", "Waited")
    [done] = drain_all(world.engine, queue)
    assert (done.result.handed_over, done.requeued, done.result.total().written) == (1, 0, 0)
    assert queue.depth() == (0, 0)  # not put back: the holder has it
    world.store.leases.release(lease)
    record = run_once(world.engine, SyncObject.CONTACT)  # the next holder takes it
    assert "1 change(s) a webhook announced were synced between pages" in record.message
    assert _person(world, contact)["title"] == "Waited"  # type: ignore[index]
    assert world.store.handover.take(SyncObject.CONTACT) is None


def test_a_drain_whose_holder_ended_as_it_handed_over_syncs_its_notices_itself(
    world: World, queue: ChangeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    hand_over = world.store.handover.hand_over
    lease: Lease | None = None

    def hand_over_as_the_holder_ends(obj: SyncObject, refs: list[ChangeRef]) -> bool:
        handed = hand_over(obj, refs)
        assert lease is not None
        world.store.leases.release(lease)  # the run's last look at the handover came just before
        return handed

    monkeypatch.setattr(world.store.handover, "hand_over", hand_over_as_the_holder_ends)
    contact, lease = _busy_contact(world, queue, "Race", "Not stranded")
    [done] = drain_all(world.engine, queue)
    assert (done.result.handed_over, done.result.total().written) == (0, 1)
    assert _person(world, contact)["title"] == "Not stranded"  # type: ignore[index]
    assert world.store.handover.take(SyncObject.CONTACT) is None


def test_a_busy_object_with_a_full_handover_puts_its_notices_back_for_a_few_seconds(
    world: World, queue: ChangeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handover_module, "MAX_HANDED", 0)
    contact, lease = _busy_contact(world, queue, "Busy", "Waited")
    [done] = drain_all(world.engine, queue)
    assert (done.requeued, done.result.total().written) == (1, 0)
    assert drain_all(world.engine, queue) == []  # hidden for a few seconds
    world.store.leases.release(lease)
    time.sleep(WAIT_S + 0.5)  # its delay ends: it is visible again
    [again] = drain_all(world.engine, queue)
    assert again.result.total().written == 1
    assert _person(world, contact)["title"] == "Waited"  # type: ignore[index]


def test_notices_of_an_object_still_in_its_full_copy_are_left_to_the_copy(world: World, queue: ChangeQueue) -> None:
    contact = world.create("contact", {"lastname": "Early", "emailaddress1": "early@example.com"})
    queue.put([_dataverse("contact", contact)])
    [done] = drain_all(world.engine, queue)
    assert done.result.left == {SyncObject.CONTACT: "not copied yet"}
    assert _person(world, contact) is None and queue.depth() == (0, 0)


def test_a_message_that_is_not_a_change_goes_to_the_poison_queue(world: World, queue: ChangeQueue) -> None:
    queue._queue.send_message('{"refs": "not a list"}')
    [done] = drain_all(world.engine, queue)
    assert done.poisoned == 1
    assert queue.depth() == (0, 1)


def test_a_message_that_failed_too_often_goes_to_the_poison_queue(world: World, queue: ChangeQueue) -> None:
    queue.put([_dataverse("contact", "00000000-0000-0000-0000-000000000001")])
    for _ in range(MAX_DEQUEUE):
        taken = queue.receive(visibility_s=1)
        assert len(taken) == 1
        time.sleep(1.2)
    done = drain(world.engine, queue)
    assert done.poisoned == 1 and queue.depth() == (0, 1)
