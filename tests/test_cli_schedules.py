"""`python -m sync run` without `--once` fires each object on its own NCRONTAB schedule, as the
Functions host fires the timers (seconds first, UTC)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sync.cli.schedules import Schedules, TimerThreads, next_tick, run_schedules
from sync.objects import SyncObject


def test_six_field_ncrontab_reads_seconds_first() -> None:
    at = datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC)
    assert next_tick("0 */1 * * * *", at) == datetime(2026, 11, 22, 10, 1, 0, tzinfo=UTC)
    assert next_tick("*/10 * * * * *", at) == datetime(2026, 11, 22, 10, 0, 40, tzinfo=UTC)
    assert next_tick("0 0 2 * * *", at) == datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_each_object_fires_on_its_own_schedule_in_full_copy_order() -> None:
    clock = _Clock(datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC))
    expressions = {SyncObject.CONTACT: "0 */1 * * * *", SyncObject.ACCOUNT: "0 */2 * * * *"}
    schedules = Schedules.starting(expressions, [SyncObject.CONTACT, SyncObject.ACCOUNT], clock())
    fired: list[tuple[str, str]] = []

    run_schedules(
        schedules, lambda obj: fired.append((clock().strftime("%H:%M:%S"), obj.value)), clock, clock.sleep, ticks=6
    )

    assert fired == [
        ("10:01:00", "contact"),
        ("10:02:00", "account"),  # accounts before the contacts that name them
        ("10:02:00", "contact"),
        ("10:03:00", "contact"),
        ("10:04:00", "account"),
        ("10:04:00", "contact"),
    ]


def test_a_run_longer_than_the_period_fires_once_when_free_not_once_per_missed_tick() -> None:
    clock = _Clock(datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC))
    schedules = Schedules.starting({SyncObject.LEAD: "0 */1 * * * *"}, [SyncObject.LEAD], clock())
    fired: list[str] = []

    def slow_run(obj: SyncObject) -> None:
        fired.append(clock().strftime("%H:%M:%S"))
        clock.sleep(150)  # this run takes two and a half minutes

    run_schedules(schedules, slow_run, clock, clock.sleep, ticks=3)

    assert fired == ["10:01:00", "10:03:30", "10:06:00"]  # the missed 10:02 and 10:03 ticks: one run


def test_each_object_runs_on_its_own_thread_so_a_long_run_holds_no_other_objects_tick() -> None:
    person_going, contact_ran = threading.Event(), threading.Event()
    ran: list[str] = []

    def run(obj: SyncObject) -> None:
        ran.append(obj.value)
        if obj is SyncObject.PERSON:
            person_going.set()
            assert contact_ran.wait(10), "the contact run waited for the person run"
        else:
            contact_ran.set()

    with TimerThreads(run) as timers:
        timers.fire(SyncObject.PERSON)
        assert person_going.wait(10)
        timers.fire(SyncObject.PERSON)  # its next tick, while it still runs: once, after it
        timers.fire(SyncObject.PERSON)
        timers.fire(SyncObject.CONTACT)
        deadline = time.monotonic() + 10
        while len(ran) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert sorted(ran) == ["contact", "person", "person"]
