from __future__ import annotations

from datetime import timedelta

import pytest

from sync.objects import Direction, SyncObject
from sync.store.errors import ErrorBackoff, ErrorStore
from sync.store.tables import StoreTables
from tests.clock import SteppingClock

D2M = Direction.DYNAMICS_TO_MARKETO


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def errors(tables: StoreTables, clock: SteppingClock) -> ErrorStore:
    return ErrorStore(tables, ErrorBackoff(first_delay_s=60, factor=2, max_delay_s=600, park_after=4), clock)


def _fail(errors: ErrorStore, record_id: str = "guid-1", code: str = "1003") -> None:
    errors.record_failure(
        SyncObject.CONTACT, D2M, record_id, operation="push", code=code, message="Invalid email", dynamics_id=record_id
    )


def test_a_record_failing_again_counts_attempts_on_one_row_with_growing_backoff(
    errors: ErrorStore, clock: SteppingClock
) -> None:
    start = clock.now
    _fail(errors)
    clock.advance(seconds=60)
    _fail(errors)
    clock.advance(seconds=120)
    _fail(errors, code="1006")
    rows = list(errors.list(SyncObject.CONTACT))
    assert len(rows) == 1
    row = rows[0]
    assert (row.attempts, row.code, row.first_seen, row.last_seen) == (3, "1006", start, clock.now)
    assert row.next_retry_at == clock.now + timedelta(seconds=240)
    assert not row.parked


def test_backoff_is_capped(errors: ErrorStore) -> None:
    assert errors.backoff.next_retry(30, errors._clock()) - errors._clock() == timedelta(seconds=600)


def test_a_record_is_parked_after_the_configured_attempts(errors: ErrorStore) -> None:
    for _ in range(4):
        _fail(errors)
    assert [e.record_id for e in errors.list(parked=True)] == ["guid-1"]
    assert list(errors.due(SyncObject.CONTACT)) == []


def test_only_errors_whose_backoff_has_passed_are_due(errors: ErrorStore, clock: SteppingClock) -> None:
    _fail(errors, "early")
    clock.advance(seconds=30)
    _fail(errors, "late")
    clock.advance(seconds=40)
    assert [e.record_id for e in errors.due(SyncObject.CONTACT)] == ["early"]


def test_a_record_that_goes_through_leaves_the_errors_table(errors: ErrorStore) -> None:
    _fail(errors)
    errors.resolve(SyncObject.CONTACT, D2M, "guid-1")
    assert errors.get(SyncObject.CONTACT, D2M, "guid-1") is None


def test_retry_on_request_unparks_and_makes_errors_due_now(errors: ErrorStore) -> None:
    for _ in range(4):
        _fail(errors)
    assert errors.request_retry(SyncObject.CONTACT) == 1
    assert [e.record_id for e in errors.due(SyncObject.CONTACT)] == ["guid-1"]


def test_a_huge_error_message_is_cut_to_fit_and_says_so(errors: ErrorStore) -> None:
    errors.record_failure(SyncObject.CONTACT, D2M, "g", operation="push", code="x", message="m" * 100_000)
    row = errors.get(SyncObject.CONTACT, D2M, "g")
    assert row is not None and row.message.endswith("characters cut]") and len(row.message) < 9000
