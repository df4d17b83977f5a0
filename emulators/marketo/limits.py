"""Marketo's limits as the emulator enforces them: calls per rolling window (606), calls at
once (615), the daily quota (607)."""

from __future__ import annotations

import contextlib
from collections import deque
from zoneinfo import ZoneInfo

from emulators.common.clock import EmulatorClock

_CENTRAL = ZoneInfo("America/Chicago")


class Limits:
    """100 calls per rolling 20 s (606), 10 concurrent (615), a daily quota reset at midnight US
    Central (607). Calls answered with an error do not count, as on Marketo."""

    def __init__(
        self,
        clock: EmulatorClock,
        calls: int = 100,
        window_s: float = 20.0,
        concurrency: int = 10,
        daily_quota: int = 50_000,
    ) -> None:
        self.clock = clock
        self.calls, self.window_s, self.concurrency, self.daily_quota = (
            calls,
            window_s,
            concurrency,
            daily_quota,
        )
        self._window: deque[float] = deque()
        self.in_flight = 0
        self.daily: dict[str, int] = {}

    def today(self) -> str:
        return self.clock.now_datetime().astimezone(_CENTRAL).date().isoformat()

    def enter(self) -> tuple[str | None, float | None]:
        """(error code, reserved slot): a call that passes holds a window slot until `leave`."""
        now = self.clock.monotonic()
        horizon = now - self.clock.scaled(self.window_s)
        while self._window and self._window[0] <= horizon:
            self._window.popleft()
        if self.in_flight >= self.concurrency:
            return "615", None
        if len(self._window) >= self.calls:
            return "606", None
        if self.daily.get(self.today(), 0) >= self.daily_quota:
            return "607", None
        self.in_flight += 1
        self._window.append(now)
        return None, now

    def leave(self, slot: float, counted: bool) -> None:
        self.in_flight -= 1
        if counted:
            day = self.today()
            self.daily[day] = self.daily.get(day, 0) + 1
        else:
            with contextlib.suppress(ValueError):
                self._window.remove(slot)
