"""The emulator clock: real time plus an offset that tests can advance, and a time scale.

`--time-scale X` divides every limit window, latency and lifetime by X, so a benchmark can run
Marketo's 20-second windows in 2 seconds; `advance` jumps wall time (token expiry, the 14-day
deleted-leads window, a daily quota reset) without waiting. `skew` sets the wall clock apart from
real time without moving the monotonic one: a server whose clock is off by minutes, as against
a jump in time (its limit windows and lifetimes are not disturbed).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class EmulatorClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time scale must be > 0")
        self.time_scale = time_scale
        self._offset = 0.0
        self.skew_s = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch on the emulator's wall clock."""
        return time.time() + self._offset + self.skew_s

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def monotonic(self) -> float:
        """For windows and lifetimes: moves with `advance` too."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def skew(self, seconds: float) -> None:
        """Set (not add) how far the wall clock is off real time."""
        with self._lock:
            self.skew_s = seconds

    def scaled(self, seconds: float) -> float:
        """A real service's duration as this emulator runs it."""
        return seconds / self.time_scale
