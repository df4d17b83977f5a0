"""Marketo's limits are per subscription: two processes calling Marketo at once, at its real
limits (100 calls per window, 10 at a time; the window shortened tenfold on both sides so the
test is quick), stay under them together — the emulator throttles nothing — and the same load
without the shared limits is throttled (so the test can fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulators.app_settings import app_settings
from emulators.common.latency import Latency
from emulators.launch import RunningEmulator
from sync.connectors.marketo.lanes import Lane, in_lane
from sync.connectors.marketo.limiter import MARKETO_DAY_ZONE, MarketoLimiter
from sync.engine.shared_limits import SharedMarketoLimits
from sync.store import SyncStore
from tests.emulator_support import control

ROOT = Path(__file__).resolve().parent.parent
CALLS = 300


def _two_processes(env: dict[str, str]) -> list[dict[str, Any]]:
    """Both loads at once: each process waits at a barrier until both engines have started."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
    barrier = Path(tempfile.mkdtemp(prefix="marketo-load-"))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.marketo_load", str(CALLS), str(barrier), "2"],
            cwd=ROOT,
            env={**clean, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_processes_at_once_stay_under_marketos_limits_together(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
) -> None:
    dataverse = start_dataverse()
    marketo = start_marketo(time_scale=10, latency=Latency.REALISTIC)
    env = app_settings(dataverse.info, marketo.info, storage=storage_connection, SYNC_TABLE_PREFIX=table_prefix) | {
        "MARKETO_RATE_LIMIT_WINDOW_S": "2"
    }
    before = control(marketo, "GET", "stats")

    shared = _two_processes(env)
    after_shared = control(marketo, "GET", "stats")
    alone = _two_processes(env | {"MARKETO_SHARED_LIMITS": "false", "SYNC_TABLE_PREFIX": table_prefix + "b"})
    after_alone = control(marketo, "GET", "stats")
    SyncStore.open(storage_connection, table_prefix).tables.drop_all()
    SyncStore.open(storage_connection, table_prefix + "b").tables.drop_all()

    first, second = shared
    assert max(first["started"], second["started"]) < min(first["ended"], second["ended"])  # at once
    assert after_shared["total"] - before["total"] >= 2 * CALLS
    assert after_shared["throttled"] - before["throttled"] == 0
    assert max(r["started"] for r in alone) < min(r["ended"] for r in alone)
    assert after_alone["throttled"] - after_shared["throttled"] > 0  # without sharing, Marketo says 606 / 615


def test_a_process_that_closes_hands_back_its_shares_its_recent_calls_and_unused_budget(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
) -> None:
    store = SyncStore.open(storage_connection, table_prefix)
    first = SharedMarketoLimits(store.marketo_shares, MarketoLimiter(100, 20.0, 10, 1_000), "first").start()
    assert len(first.held) == 10 and first.limiter.calls == 100 and first.limiter.max_concurrency == 10
    for _ in range(30):
        with first.limiter.slot():
            pass
    first.close()
    day = datetime.now(UTC).astimezone(MARKETO_DAY_ZONE).date().isoformat()
    drawn = store.marketo_shares.drawn(day)

    second = SharedMarketoLimits(store.marketo_shares, MarketoLimiter(100, 20.0, 10, 1_000), "second").start()
    try:
        assert len(second.held) == 10
        assert len(second.limiter.window_call_ages()) == 30  # the first one's calls still count this window
    finally:
        second.close()
        store.tables.drop_all()
    assert drawn == 30  # 50 drawn in a chunk, 20 unused handed back


@pytest.fixture
def shares_store(storage_connection: str, table_prefix: str) -> Iterator[SyncStore]:
    store = SyncStore.open(storage_connection, table_prefix)
    yield store
    store.tables.drop_all()


def _limits(store: SyncStore, owner: str, clock: Callable[[], datetime] | None = None) -> SharedMarketoLimits:
    """A process's shares driven round by round (no renewal thread): the test is the clock."""
    limiter = MarketoLimiter(100, 20.0, 10, 1_000)
    return SharedMarketoLimits(store.marketo_shares, limiter, owner, wall_clock=clock or (lambda: datetime.now(UTC)))


def test_a_process_joining_gets_half_once_the_holder_has_released_with_the_calls_it_cannot_carry(
    shares_store: SyncStore,
) -> None:
    store = shares_store
    first, second = _limits(store, "first"), _limits(store, "second")
    first.round()
    for _ in range(80):
        with first.limiter.slot():
            pass
    second.round()  # joins: nothing free yet
    assert (len(first.held), len(second.held), second.limiter.calls) == (10, 0, 0)
    first.round()  # sees an idle second member: keeps 9, hands 1 back (its 80 calls fit the 90 it keeps)
    second.round()
    assert (len(first.held), len(second.held)) == (9, 1)
    assert second.limiter.window_call_ages() == []
    second.limiter.line.busy_at[Lane.INCREMENTAL] = time.monotonic()  # the second asks for calls too
    second.round()  # now busy too, in the same lane: an even split
    first.round()
    second.round()
    assert (len(first.held), len(second.held)) == (5, 5)
    assert (first.limiter.calls, first.limiter.max_concurrency) == (50, 5)
    assert (second.limiter.calls, second.limiter.max_concurrency) == (50, 5)
    # the 30 of the first's 80 calls its 5 shares cannot carry are counted by the second too, until
    # they leave the window: together they have exactly what Marketo has left, never more
    assert len(second.limiter.window_call_ages()) == 30
    rooms = sum(max(0, lim.calls - len(lim.window_call_ages())) for lim in (first.limiter, second.limiter))
    assert rooms == 100 - 80


def test_a_process_copying_keeps_a_floor_while_another_has_incremental_work_and_takes_the_rest_after(
    shares_store: SyncStore,
) -> None:
    store = shares_store
    timers, copy = _limits(store, "timers"), _limits(store, "copy")
    with in_lane(Lane.BACKFILL, "contact"), copy.limiter.slot():
        pass
    with timers.limiter.slot():  # outside any lane: incremental, as timer runs are
        pass
    for _ in range(3):
        timers.round()
        copy.round()
    assert (len(timers.held), len(copy.held)) == (7, 3)
    timers.limiter.line.busy_at.clear()  # the timers have been idle for a window
    for _ in range(3):
        timers.round()
        copy.round()
    assert (len(timers.held), len(copy.held)) == (1, 9)


def test_a_share_whose_holder_vanished_is_used_again_only_a_window_after_its_membership_lapsed(
    storage_connection: str, table_prefix: str
) -> None:
    store = SyncStore.open(storage_connection, table_prefix)
    start = datetime.now(UTC)
    later = {"s": 0.0}
    try:
        crashed = _limits(store, "crashed", lambda: start)
        crashed.round()  # holds all ten; then dies without a word (lease 15 s)
        survivor = _limits(store, "survivor", lambda: start + timedelta(seconds=later["s"]))
        later["s"] = 10.0
        survivor.round()
        assert len(survivor.held) == 0  # the holder's membership is still live
        later["s"] = 16.0
        survivor.round()
        assert len(survivor.held) == 10 and survivor.limiter.calls == 0  # taken, but its calls may be in the window
        later["s"] = 36.0
        survivor.round()
        assert (survivor.limiter.calls, survivor.limiter.max_concurrency) == (100, 10)
    finally:
        store.tables.drop_all()
