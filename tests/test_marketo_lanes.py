"""Priority lanes on Marketo's limits: incremental calls before backfill, objects taking turns,
backfill's floor; and the split of the shared limits between processes by the lanes they work in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from sync.connectors.marketo.lanes import Lane, WaitingLine, floor_of, in_lane, lane_shares
from sync.connectors.marketo.limiter import MarketoLimiter
from sync.engine.full_copy import full_copy
from sync.engine.run import run_once
from sync.objects import SyncObject
from tests.sync_support import World

INC, B = Lane.INCREMENTAL, Lane.BACKFILL


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        ({"a": INC, "b": B}, {"a": 7, "b": 3}),  # one of each: backfill keeps its floor and more
        ({"a": INC, "b": INC, "c": B}, {"a": 4, "b": 4, "c": 2}),
        ({"a": None, "b": B}, {"a": 1, "b": 9}),  # backfill takes what idle processes leave
        ({"a": None, "b": None, "c": None}, {"a": 4, "b": 3, "c": 3}),  # nobody busy: an even split
        ({"a": B, "b": B}, {"a": 5, "b": 5}),
        ({"a": INC}, {"a": 10}),
        ({f"p{n:02d}": INC for n in range(12)}, {**{f"p{n:02d}": 1 for n in range(10)}, "p10": 0, "p11": 0}),
    ],
)
def test_the_shared_limits_are_split_by_the_lanes_processes_work_in(
    busy: dict[str, Lane | None], expected: dict[str, int]
) -> None:
    assert lane_shares(busy, 10) == expected
    assert sum(lane_shares(busy, 10).values()) == 10


def test_an_incremental_call_goes_before_waiting_backfill_and_backfill_keeps_its_floor() -> None:
    line = WaitingLine()
    copies = [line.join(B, "contact", 0.0) for _ in range(3)]
    change = line.join(INC, "account", 0.0)
    assert line.may_go(change, capacity=10)
    assert line.may_go(copies[0], capacity=10)  # below its floor of 2, backfill goes beside it
    line.start(copies[0])
    line.start(copies[1]) if line.may_go(copies[1], capacity=10) else None
    assert line.in_flight[B] == 2 == floor_of(10)
    assert not line.may_go(copies[2], capacity=10)  # at its floor while an incremental call waits
    line.start(change)
    assert line.may_go(copies[2], capacity=10)  # nothing incremental waits: backfill takes the rest


def test_objects_take_turns_within_a_lane() -> None:
    line = WaitingLine()
    burst = [line.join(INC, "contact", 0.0) for _ in range(3)]
    other = line.join(INC, "account", 0.0)
    served = []
    for _ in range(4):
        ticket = next(t for t in line.waiting if line.may_go(t, capacity=10))
        line.start(ticket)
        served.append(ticket.party)
    assert served == ["contact", "account", "contact", "contact"]  # the burst does not hold the account back
    assert burst[0].serial < other.serial


def test_with_backfill_at_the_ceiling_an_incremental_call_takes_the_first_slot_that_frees() -> None:
    limiter = MarketoLimiter(calls=1000, window_s=20, max_concurrency=4)  # backfill's floor: one call
    order: list[str] = []
    done = {name: threading.Event() for name in ("copy 0", "copy 1", "copy 2", "copy 3", "copy 4", "change")}

    def call(lane: Lane, name: str) -> None:
        with in_lane(lane, name.split()[0]), limiter.slot():
            order.append(name)
            done[name].wait(5)

    threads = [threading.Thread(target=call, args=(B, f"copy {n}")) for n in range(4)]
    for thread in threads:
        thread.start()
    while limiter.line.in_flight[B] < 4:
        time.sleep(0.005)
    for lane, name in ((B, "copy 4"), (INC, "change")):  # the copy's next call is in line first
        threads.append(threading.Thread(target=call, args=(lane, name)))
        threads[-1].start()
        time.sleep(0.05)
    done["copy 0"].set()  # one slot frees
    while len(order) < 5:
        time.sleep(0.005)
    assert order[4] == "change"
    for event in done.values():
        event.set()
    for thread in threads:
        thread.join(5)
    assert order[5] == "copy 4"
    assert limiter.calls_by_lane == {B: 5, INC: 1}


def test_a_process_says_which_lane_it_was_busy_in_lately() -> None:
    limiter = MarketoLimiter()
    assert limiter.busiest_lane(within_s=20) is None
    with in_lane(B, "contact"), limiter.slot():
        assert limiter.busiest_lane(within_s=20) is B
    with limiter.slot():  # a call outside any lane is incremental: timers, webhooks, flow actions
        pass
    assert limiter.busiest_lane(within_s=20) is INC
    assert limiter.busiest_lane(within_s=0) is None


def test_full_copies_call_in_the_backfill_lane_and_runs_in_the_incremental_lane(
    make_sync_world: Callable[..., World],
) -> None:
    world = make_sync_world()
    for n in range(5):
        world.create("account", {"name": f"Lane {n}"})
    counted = world.engine.marketo.client.limiter.calls_by_lane
    started = counted[INC]  # the engine's start: describes, owned fields (outside any lane: incremental)
    full_copy(world.engine, SyncObject.ACCOUNT)
    assert counted[B] > 0 and counted[INC] == started
    world.create("account", {"name": "Changed since"})
    copied = counted[B]
    assert run_once(world.engine, SyncObject.ACCOUNT).written == 1
    assert counted[INC] > started and counted[B] == copied
