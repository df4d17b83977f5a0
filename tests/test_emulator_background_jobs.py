"""The emulators' asynchronous services (Dataverse's async service, Marketo's trigger campaigns):
a job's pick-up delay counts from when it was queued, so a burst is announced together one delay
later, in order, as the real services' worker pools do, not one delay after another."""

from __future__ import annotations

import time

from emulators.common.background import BackgroundJobs


def test_jobs_queued_together_run_one_delay_later_together_and_in_order() -> None:
    ran: list[tuple[int, float]] = []
    jobs: BackgroundJobs[int] = BackgroundJobs("test-jobs", lambda n: ran.append((n, time.monotonic())))
    delay = 0.5
    queued = time.monotonic()
    for n in range(6):
        jobs.put(n, delay_s=delay)
    assert jobs.idle(10)
    assert [n for n, _ in ran] == list(range(6))
    assert ran[0][1] - queued >= delay  # none before its pick-up delay
    assert ran[-1][1] - queued < 3 * delay  # one after another would be 6 delays


def test_a_job_queued_later_waits_its_own_delay_from_its_own_queueing() -> None:
    ran: list[float] = []
    jobs: BackgroundJobs[int] = BackgroundJobs("test-jobs", lambda _: ran.append(time.monotonic()))
    jobs.put(0, delay_s=0.2)
    assert jobs.idle(10)
    later = time.monotonic()
    jobs.put(1, delay_s=0.3)
    assert jobs.idle(10)
    assert ran[1] - later >= 0.3
    jobs.stop()
