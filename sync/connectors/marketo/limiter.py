"""The client-side limiter every Marketo call goes through, shared by all threads.

Marketo allows `calls` per rolling `window_s` (606 past it), `max_concurrency` calls in flight
(615) and a daily quota (607). The limiter keeps the sync under all three, so throttling errors
are the exception rather than the way it finds the limit:

- window: a call holds a slot from when it starts until `window_s` after it *ends* — the end is
  an upper bound of when Marketo received it, so our window never closes before Marketo's;
- concurrency: a semaphore;
- daily budget: calls counted locally since midnight US Central (Marketo's reset), raised to the
  subscription's own count whenever `stats/usage.json` is read; at the budget, calls stop with
  `MarketoQuotaExhausted` naming the reset time;
- deadline: a caller never waits for a slot past its deadline; it gets DeadlineExceeded (kind
  `throttled`) at once when the window cannot free a slot in time, instead of sleeping in vain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Final
from zoneinfo import ZoneInfo

from sync.connectors.http.deadline import Deadline, DeadlineExceeded
from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo.errors import MarketoQuotaExhausted

MARKETO_DAY_ZONE: Final = ZoneInfo("America/Chicago")


def next_reset(now: datetime) -> datetime:
    """Marketo's daily quota resets at midnight US Central."""
    local = now.astimezone(MARKETO_DAY_ZONE)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), dtime(0), MARKETO_DAY_ZONE)
    return tomorrow.astimezone(UTC)


class MarketoLimiter:
    def __init__(
        self,
        calls: int = 100,
        window_s: float = 20.0,
        max_concurrency: int = 10,
        daily_budget: int = 40_000,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.calls, self.window_s, self.max_concurrency, self.daily_budget = (
            calls,
            window_s,
            max_concurrency,
            daily_budget,
        )
        self._wall_clock = wall_clock
        self._lock = threading.Condition()
        self._open: int = 0  # calls in flight (each also holds a window slot)
        self._ended: list[float] = []  # end times of finished calls still inside the window
        self._day: date = self._today()
        self._used_today = 0
        self.calls_made = 0

    def _today(self) -> date:
        return self._wall_clock().astimezone(MARKETO_DAY_ZONE).date()

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._used_today = today, 0

    @property
    def used_today(self) -> int:
        with self._lock:
            self._roll_day()
            return self._used_today

    def record_usage(self, total_today: int) -> None:
        """Marketo's own count for today (stats/usage.json); never lowers ours."""
        with self._lock:
            self._roll_day()
            self._used_today = max(self._used_today, total_today)

    def _wait_needed(self, now: float) -> float:
        horizon = now - self.window_s
        self._ended = [t for t in self._ended if t > horizon]
        if self._open >= self.max_concurrency:
            return 0.05  # woken by notify when a call ends; the timeout is a safety net
        if self._open + len(self._ended) >= self.calls:
            return max(min(self._ended, default=now) - horizon, 0.001) if self._ended else 0.05
        return 0.0

    @contextmanager
    def slot(self, deadline: Deadline | None = None) -> Iterator[None]:
        """Hold one call's place in the window and the concurrency; never wait past `deadline`."""
        asked_at = time.monotonic()
        with self._lock:
            while True:
                self._roll_day()
                if self._used_today >= self.daily_budget:
                    resets_at = next_reset(self._wall_clock())
                    raise MarketoQuotaExhausted(
                        "budget",
                        f"daily Marketo call budget of {self.daily_budget} used "
                        f"({self._used_today} calls today); "
                        f"calls resume at {resets_at.isoformat()} (midnight US Central). "
                        "Raise MARKETO_DAILY_CALL_BUDGET to allow more.",
                        resets_at,
                    )
                wait = self._wait_needed(time.monotonic())
                if wait <= 0:
                    break
                if deadline is not None and wait >= deadline.remaining():
                    raise DeadlineExceeded(
                        "Marketo",
                        "waiting for a call slot",
                        0,
                        time.monotonic() - asked_at,
                        f"the client-side limit of {self.calls} calls per {self.window_s:g} s and "
                        f"{self.max_concurrency} at a time leaves no slot before the deadline",
                        kind=FailureKind.THROTTLED,
                    )
                self._lock.wait(timeout=wait)
            self._open += 1
            self._used_today += 1
            self.calls_made += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                self._ended.append(time.monotonic())
                self._lock.notify_all()
