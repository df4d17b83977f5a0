from __future__ import annotations

import os
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from sync.objects import SyncObject
from sync.store.holders import holder_gone
from sync.store.leases import LeaseLost, LeaseStore
from sync.store.tables import StoreTables
from tests.clock import SteppingClock

MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def leases(tables: StoreTables, clock: SteppingClock) -> LeaseStore:
    return LeaseStore(tables, clock)


def test_a_held_lease_is_refused_to_another_owner(leases: LeaseStore) -> None:
    assert leases.acquire(SyncObject.CONTACT, "run-a", MINUTE) is not None
    assert leases.acquire(SyncObject.CONTACT, "run-b", MINUTE) is None


def test_leases_of_different_objects_are_independent(leases: LeaseStore) -> None:
    assert leases.acquire(SyncObject.CONTACT, "run-a", MINUTE) is not None
    assert leases.acquire(SyncObject.LEAD, "run-b", MINUTE) is not None


def test_an_expired_lease_is_taken_over_and_the_old_owner_loses_it(leases: LeaseStore, clock: SteppingClock) -> None:
    old = leases.acquire(SyncObject.CONTACT, "crashed-run", MINUTE)
    assert old is not None
    clock.advance(seconds=61)
    new = leases.acquire(SyncObject.CONTACT, "next-run", MINUTE)
    assert new is not None and new.owner == "next-run"
    with pytest.raises(LeaseLost):
        leases.renew(old, MINUTE)
    leases.release(old)  # a late release by the old owner must not free the new owner's lease
    current = leases.current(SyncObject.CONTACT)
    assert current is not None and current.owner == "next-run"


def test_renewing_keeps_the_lease_past_its_first_expiry(leases: LeaseStore, clock: SteppingClock) -> None:
    lease = leases.acquire(SyncObject.CONTACT, "run-a", MINUTE)
    assert lease is not None
    clock.advance(seconds=50)
    lease = leases.renew(lease, MINUTE)
    clock.advance(seconds=50)
    assert leases.acquire(SyncObject.CONTACT, "run-b", MINUTE) is None


def test_a_released_lease_is_free_at_once(leases: LeaseStore) -> None:
    lease = leases.acquire(SyncObject.CONTACT, "run-a", MINUTE)
    assert lease is not None
    leases.release(lease)
    assert leases.current(SyncObject.CONTACT) is None
    assert leases.acquire(SyncObject.CONTACT, "run-b", MINUTE) is not None


def test_of_many_simultaneous_contenders_for_an_expired_lease_exactly_one_wins(
    leases: LeaseStore, clock: SteppingClock
) -> None:
    assert leases.acquire(SyncObject.CONTACT, "crashed-run", MINUTE) is not None
    clock.advance(minutes=2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: leases.acquire(SyncObject.CONTACT, f"run-{n}", MINUTE), range(8)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    current = leases.current(SyncObject.CONTACT)
    assert current is not None and current.owner == winners[0].owner


def test_the_lease_of_a_process_gone_from_this_host_is_taken_at_once(leases: LeaseStore) -> None:
    child = subprocess.Popen(["true"])  # noqa: S607
    child.wait()
    crashed = f"{socket.gethostname()}:{child.pid}:full-copy"
    assert leases.acquire(SyncObject.CONTACT, crashed, MINUTE) is not None
    taken = leases.acquire(SyncObject.CONTACT, "next-run", MINUTE)
    assert taken is not None and taken.owner == "next-run"


@pytest.mark.parametrize(
    "holder",
    [f"{socket.gethostname()}:{os.getpid()}", "another-host:1", "not-a-process-name"],
    ids=["alive-here", "other-host", "unparsed"],
)
def test_a_holder_that_may_be_alive_is_waited_for_until_expiry(leases: LeaseStore, holder: str) -> None:
    assert not holder_gone(holder)
    assert leases.acquire(SyncObject.CONTACT, holder, MINUTE) is not None
    assert leases.acquire(SyncObject.CONTACT, "next-run", MINUTE) is None
