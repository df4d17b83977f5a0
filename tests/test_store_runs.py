from __future__ import annotations

from datetime import timedelta

from sync.objects import Direction, SyncObject
from sync.store import SyncStore
from sync.store.runs import RunOutcome, RunRecord
from tests.clock import SteppingClock

D2M = Direction.DYNAMICS_TO_MARKETO


def test_recent_runs_come_newest_first_and_stop_at_the_limit(store: SyncStore) -> None:
    clock = SteppingClock()
    for n in range(30):
        store.runs.record(
            RunRecord(
                run_id=f"r{n}",
                object=SyncObject.CONTACT,
                direction=D2M,
                started_at=clock.now,
                ended_at=clock.now + timedelta(seconds=5),
                outcome=RunOutcome.SUCCEEDED,
                read=n,
                written=n,
            )
        )
        clock.advance(minutes=1)
    recent = store.runs.recent(SyncObject.CONTACT, D2M, limit=5)
    assert [r.run_id for r in recent] == ["r29", "r28", "r27", "r26", "r25"]
    assert recent[0].read == 29


def test_a_run_recorded_at_start_and_again_at_end_is_one_row(store: SyncStore) -> None:
    clock = SteppingClock()
    started = RunRecord(
        run_id="r1", object=SyncObject.LEAD, direction=D2M, started_at=clock.now, outcome=RunOutcome.FAILED
    )
    store.runs.record(started)
    store.runs.record(started.model_copy(update={"ended_at": clock.now, "outcome": RunOutcome.SUCCEEDED}))
    assert [(r.run_id, r.outcome) for r in store.runs.recent(SyncObject.LEAD, D2M)] == [("r1", RunOutcome.SUCCEEDED)]


def test_runs_since_a_time_exclude_older_runs(store: SyncStore) -> None:
    clock = SteppingClock()
    for n in range(6):
        store.runs.record(
            RunRecord(
                run_id=f"r{n}",
                object=SyncObject.LEAD,
                direction=D2M,
                started_at=clock.now,
                outcome=RunOutcome.SUCCEEDED,
            )
        )
        clock.advance(minutes=20)
    since = list(store.runs.since(SyncObject.LEAD, D2M, clock.now - timedelta(hours=1)))
    assert [r.run_id for r in since] == ["r5", "r4", "r3"]
