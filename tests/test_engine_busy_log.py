"""A busy Marketo activity log (a copy's new persons, a mass update), against both emulators and
Azurite: Marketo scans 300 activities of every type per call, so the person run that caught up
on such a log reads on, a pass every few seconds, instead of leaving a minute of it to the next
run; a quiet log still ends the run after one page; webhook notices handed over while the run
follows are synced between its passes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sync.engine import run as run_module
from sync.engine.drain import drain_all
from sync.engine.full_copy import full_copy
from sync.engine.person_stream import PersonStream
from sync.engine.run import run_once
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.store.change_queue import ChangeQueue, ChangeRef
from sync.store.runs import RunOutcome
from tests.sync_support import World, by_key


@pytest.fixture
def world(make_sync_world: Callable[..., World]) -> World:
    made = make_sync_world()
    made.create("contact", {"firstname": "Ada", "lastname": "Byron", "emailaddress1": "ada@example.com"})
    for obj in FULL_COPY_ORDER:
        full_copy(made.engine, obj)
    assert run_once(made.engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED
    return made


@pytest.fixture
def queue(storage_connection: str, table_prefix: str) -> Iterator[ChangeQueue]:
    opened = ChangeQueue.open(storage_connection, f"{table_prefix.lower()}-busy")
    yield opened
    opened.clear()


_made = itertools.count()


def _flood(world: World, persons: int) -> None:
    """New persons made in Marketo by someone else: activities the stream scans and passes by."""
    for start in range(0, persons, 300):
        batch = [{"email": f"flood{next(_made)}@example.com"} for _ in range(min(300, persons - start))]
        world.engine.marketo.persons.upsert(batch)


def _edit(world: World, person: int, title: str) -> None:
    world.engine.marketo.persons.upsert([{"id": person, "title": title}], action="updateOnly", lookup_field="id")


def _ada(world: World) -> tuple[str, int]:
    person = next(p for p in world.marketo_rows("lead") if p.get("dynamicsId"))
    return str(person["dynamicsId"]), int(person["id"])


def _title(world: World, contact: str) -> Any:
    return by_key(world.dynamics_rows("contact"), "contactid")[contact].get("jobtitle")


def _pauses(monkeypatch: pytest.MonkeyPatch, *between: Callable[[], None]) -> list[float]:
    """Step the run's pauses between passes, doing `between[n]` in the n-th."""
    taken: list[float] = []

    def pause(seconds: float) -> None:
        taken.append(seconds)
        if len(taken) <= len(between):
            between[len(taken) - 1]()

    monkeypatch.setattr(run_module, "follow_pause", pause)
    return taken


def test_a_run_that_caught_up_on_a_busy_log_reads_on_and_carries_an_edit_logged_meanwhile(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact, person = _ada(world)

    def more_flood_and_an_edit() -> None:
        _flood(world, 600)
        _edit(world, person, "Countess")

    pauses = _pauses(monkeypatch, more_flood_and_an_edit)
    _flood(world, 600)  # the first pass: two pages, so the log is busy
    record = run_once(world.engine, SyncObject.PERSON)
    assert record.outcome is RunOutcome.SUCCEEDED and record.written == 1
    assert _title(world, contact) == "Countess"  # in this run, not the next
    assert len(pauses) == 2  # two more passes: the last, one page, found the log quiet


def test_a_run_on_a_quiet_log_ends_after_its_first_page(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    pauses = _pauses(monkeypatch)
    before = world.engine.marketo.client.limiter.calls_made
    assert run_once(world.engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED
    assert (pauses, world.engine.marketo.client.limiter.calls_made - before) == ([], 1)


def test_a_busy_log_costs_the_pages_it_fills_and_one_part_filled_page_a_pass(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses = _pauses(monkeypatch, lambda: _flood(world, 900))
    _flood(world, 600)
    before = world.engine.marketo.client.limiter.calls_made
    assert run_once(world.engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED
    stream_calls = world.engine.marketo.client.limiter.calls_made - before - 3  # less the flood's 3 creates
    # 2 pages, then 3 pages + the empty one that says the log is quiet; no lead read for passers-by
    assert (len(pauses), stream_calls) == (2, 2 + 3 + 1)


def test_a_run_follows_a_busy_log_only_until_the_next_timer_would_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_module, "FOLLOW_FOR_S", 0.0)
    pauses = _pauses(monkeypatch)
    _flood(world, 600)
    assert run_once(world.engine, SyncObject.PERSON).outcome is RunOutcome.SUCCEEDED
    assert pauses == []


def test_a_webhook_notice_for_a_person_whose_run_follows_the_log_is_synced_by_that_run(
    world: World, queue: ChangeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact, person = _ada(world)
    drains = []

    def an_edit_and_its_webhook() -> None:
        _edit(world, person, "Analyst")
        queue.put([ChangeRef(source="marketo", table="person", id=str(person))])
        drains.extend(drain_all(world.engine, queue))  # the queue trigger, while the run holds the lease

    _pauses(monkeypatch, an_edit_and_its_webhook)
    _flood(world, 600)
    record = run_once(world.engine, SyncObject.PERSON)
    [drained] = drains
    assert (drained.result.handed_over, drained.requeued) == (1, 0)
    assert "1 change(s) a webhook announced were synced between pages" in record.message
    assert _title(world, contact) == "Analyst"


def test_a_page_that_fails_to_apply_while_the_next_is_read_ahead_is_read_again_and_loses_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact, person = _ada(world)
    _pauses(monkeypatch)
    _flood(world, 900)
    _edit(world, person, "Engineer")  # on the fourth page, behind the flood
    applied = PersonStream.process
    calls = itertools.count(1)

    def second_page_fails(stream: PersonStream, activities: list[dict[str, Any]], known: set[str]) -> Any:
        if next(calls) == 2:  # the third page is being read ahead meanwhile
            raise RuntimeError("applying the second page failed")
        return applied(stream, activities, known)

    monkeypatch.setattr(PersonStream, "process", second_page_fails)
    with pytest.raises(RuntimeError, match="second page"):
        run_once(world.engine, SyncObject.PERSON)
    assert _title(world, contact) != "Engineer"
    monkeypatch.setattr(PersonStream, "process", applied)
    record = run_once(world.engine, SyncObject.PERSON)  # from the second page's token again
    assert record.outcome is RunOutcome.SUCCEEDED and record.written == 1
    assert _title(world, contact) == "Engineer"
