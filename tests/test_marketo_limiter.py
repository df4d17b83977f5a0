"""The client-side daily budget: counted per Marketo day, which ends at midnight US Central."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync.connectors.marketo.errors import MarketoQuotaExhausted
from sync.connectors.marketo.limiter import MarketoLimiter, next_reset
from tests.clock import SteppingClock


def test_the_budget_stops_calls_until_midnight_us_central_then_allows_them_again() -> None:
    clock = SteppingClock(datetime(2026, 11, 23, 5, 58, tzinfo=UTC))  # 23:58 in Chicago (CST, UTC-6)
    limiter = MarketoLimiter(daily_budget=2, wall_clock=clock)
    for _ in range(2):
        with limiter.slot():
            pass
    with pytest.raises(MarketoQuotaExhausted) as raised, limiter.slot():
        pass
    assert raised.value.resets_at == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    clock.advance(minutes=3)  # 00:01 in Chicago: a new Marketo day
    with limiter.slot():
        pass
    assert limiter.used_today == 1


def test_marketo_usage_read_back_raises_the_count_but_never_lowers_it() -> None:
    limiter = MarketoLimiter(daily_budget=100)
    for _ in range(5):
        with limiter.slot():
            pass
    limiter.record_usage(3)
    assert limiter.used_today == 5
    limiter.record_usage(60)
    assert limiter.used_today == 60


def test_the_reset_follows_daylight_saving_in_chicago() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert next_reset(summer) - summer == timedelta(hours=17)  # midnight CDT is 05:00 UTC
