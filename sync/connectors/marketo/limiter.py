"""The client-side limiter every Marketo call goes through, shared by all threads.

Marketo allows `calls` per rolling `window_s` (606 past it), `max_concurrency` calls in flight
(615) and a daily quota (607). The limiter keeps the sync under all three, so throttling errors
are the exception rather than the way it finds the limit:

- window: a call holds a slot from when it starts until `window_s` after it *ends* — the end is
  an upper bound of when Marketo received it, so our window never closes before Marketo's;
- a 606 all the same (another integration on the same API user spends the window too): no call
  of ours starts for a twentieth of the window, twice that after another 606 within the window,
  and so on, never longer than until our oldest call leaves it (Marketo's oldest has left by
  then); then one call at a time goes until Marketo admits one (`window_full`, `admitted`), so
  the calls that waited do not all meet the full window together. Waiting the whole window, as
  a 606 says, stalled every call for 20 s where, at the ceiling, calls leave Marketo's window
  every fraction of a second; the other integration's calls are not counted as ours, since when
  they leave is unknown;
- concurrency: a semaphore;
- daily budget: calls counted locally since midnight US Central (Marketo's reset), raised to the
  subscription's own count whenever `stats/usage.json` is read; at the budget, calls stop with
  `MarketoQuotaExhausted` naming the reset time;
- deadline: a caller never waits for a slot past its deadline; it gets DeadlineExceeded (kind
  `throttled`) at once when the window cannot free a slot in time, instead of sleeping in vain;
- lanes: callers wait in one line (`lanes.WaitingLine`): incremental calls before backfill,
  objects taking turns within a lane, backfill always allowed its floor (see lanes.py).

The limits are Marketo's per subscription, not per process: when several processes call at once
(the app scaled out, a CLI beside it), `sync.engine.shared_limits` gives each its share of them
through `share` (calls and concurrency, valid until a lease runs out), `add_window_calls` (calls
another process made through a share just handed over, still in Marketo's window) and `refill`
(the daily budget drawn from a shared count in chunks).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Final
from zoneinfo import ZoneInfo

from sync import tally
from sync.connectors.http.deadline import Deadline, DeadlineExceeded
from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo import lanes
from sync.connectors.marketo.errors import MarketoQuotaExhausted
from sync.connectors.marketo.lanes import Lane, WaitingLine

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
        self._valid_until: float | None = None  # monotonic end of a shared grant; None: not shared
        self._held_until = 0.0  # after a 606: no call starts before this (monotonic)
        self._strikes, self._struck_at = 0, float("-inf")  # 606s in a row, the last one's time
        self._probing = False  # after a 606, until Marketo admits a call: one call at a time
        self._refill: Callable[[], int] | None = None
        self._allowance = 0
        self.workers = max_concurrency  # the most calls in flight ever: what thread pools size to
        self.waited_s = 0.0  # time callers spent waiting for a slot, summed over threads
        self.line = WaitingLine()
        self.calls_by_lane: Counter[Lane] = Counter()
        self.waited_by_lane: dict[Lane, float] = dict.fromkeys(Lane, 0.0)

    def draw_daily_from(self, refill: Callable[[], int]) -> None:
        """Spend the daily budget from a count shared by processes: `refill` draws a chunk of
        calls from it and says how many it got (0 once the day's budget is spent)."""
        with self._lock:
            self._refill, self._allowance = refill, 0

    def share(self, calls: int, max_concurrency: int, valid_until: float) -> None:
        """This process's part of the subscription's limits until `valid_until` (monotonic);
        past it, no call starts until the share is renewed."""
        with self._lock:
            self.calls, self.max_concurrency, self._valid_until = calls, max_concurrency, valid_until
            self._lock.notify_all()

    def add_window_calls(self, ages_s: list[float]) -> None:
        """Calls another process made `ages_s` seconds ago through a share this one now holds:
        they still count in Marketo's window."""
        now = time.monotonic()
        with self._lock:
            self._ended.extend(now - age for age in ages_s if age < self.window_s)

    def window_call_ages(self) -> list[float]:
        """How long ago this process's calls still in the window ended, newest first."""
        now = time.monotonic()
        with self._lock:
            return sorted(now - t for t in self._ended if t > now - self.window_s)

    def window_full(self) -> tuple[float, str]:
        """Marketo answered 606: hold every call of this process (see the module's docstring); the
        seconds of the hold, and what this process had counted, for the log."""
        now = time.monotonic()
        with self._lock:
            self._ended = [t for t in self._ended if t > now - self.window_s]
            counted = self._open + len(self._ended)
            self._strikes = self._strikes + 1 if now - self._struck_at < self.window_s else 1
            self._struck_at = now
            first = self.window_s / 20
            oldest_leaves = min(self._ended) + self.window_s - now if self._ended else self.window_s
            wait = min(first * 2 ** min(self._strikes - 1, 10), max(oldest_leaves, first))
            self._held_until = max(self._held_until, now + wait)
            self._probing = True
            return wait, f"this process had counted {counted} of the {self.calls} calls it may make in the window"

    def admitted(self) -> None:
        """Marketo took a call (any answer but a 606): the window has room again."""
        if self._probing:
            with self._lock:
                self._probing = False
                self._lock.notify_all()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._open

    def settle(self, at_most: int, timeout_s: float) -> bool:
        """Wait until no more than `at_most` calls are in flight (True), or `timeout_s` passes."""
        with self._lock:
            return self._lock.wait_for(lambda: self._open <= at_most, timeout=timeout_s)

    def unused_allowance(self) -> int:
        """Calls drawn from the shared daily budget and not made (handed back at close)."""
        with self._lock:
            spare, self._allowance = self._allowance, 0
            return spare

    def _today(self) -> date:
        return self._wall_clock().astimezone(MARKETO_DAY_ZONE).date()

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._used_today, self._allowance = today, 0, 0

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
        if self._valid_until is not None and now >= self._valid_until:
            return 0.1  # the shared grant ran out: wait for its renewal
        if now < self._held_until:
            return self._held_until - now  # Marketo's window was full (606)
        if self._probing and self._open:
            return 0.05  # one call finds out whether the window has room; woken when it ends
        horizon = now - self.window_s
        self._ended = [t for t in self._ended if t > horizon]
        if self._open >= self.max_concurrency:
            return 0.05  # woken by notify when a call ends; the timeout is a safety net
        if self._open + len(self._ended) >= self.calls:
            return max(min(self._ended, default=now) - horizon, 0.001) if self._ended else 0.05
        return 0.0

    def busiest_lane(self, within_s: float) -> Lane | None:
        """The highest lane this process asked a call for lately (its claim on the shared limits)."""
        with self._lock:
            return self.line.busiest(time.monotonic(), within_s)

    @contextmanager
    def slot(self, deadline: Deadline | None = None) -> Iterator[None]:
        """Hold one call's place in the window and the concurrency, in the caller's lane and turn;
        never wait past `deadline`."""
        asked_at = time.monotonic()
        lane, party = lanes.current()
        with self._lock:
            ticket = self.line.join(lane, party, asked_at)
            try:
                self._wait_for_turn(ticket, asked_at, deadline)
            except BaseException:
                self.line.leave(ticket)
                self._lock.notify_all()
                raise
            self.line.start(ticket)
            self._open += 1
            waited = time.monotonic() - asked_at
            self.waited_s += waited
            self.waited_by_lane[lane] += waited
            self.calls_by_lane[lane] += 1
            self._allowance = max(0, self._allowance - 1)
            self._used_today += 1
            self.calls_made += 1
            tally.count("marketo")
            self._lock.notify_all()  # the head of a lane moved: the next in line may go
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                self.line.end(ticket)
                self._ended.append(time.monotonic())
                self._lock.notify_all()

    def _wait_for_turn(self, ticket: lanes.Ticket, asked_at: float, deadline: Deadline | None) -> None:
        while True:
            self._roll_day()
            if self._refill is not None and self._allowance == 0:
                self._allowance = self._refill()
            shared_spent = self._refill is not None and self._allowance == 0
            if self._used_today >= self.daily_budget or shared_spent:
                resets_at = next_reset(self._wall_clock())
                used = "by all processes together" if shared_spent else f"({self._used_today} calls today)"
                raise MarketoQuotaExhausted(
                    "budget",
                    f"daily Marketo call budget of {self.daily_budget} used {used}; "
                    f"calls resume at {resets_at.isoformat()} (midnight US Central). "
                    "Raise MARKETO_DAILY_CALL_BUDGET to allow more.",
                    resets_at,
                )
            wait = self._wait_needed(time.monotonic())
            if wait <= 0:
                if self.line.may_go(ticket, self.max_concurrency):
                    return
                wait = 0.05  # another call is ahead in line: woken when it starts or a call ends
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
