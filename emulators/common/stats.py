"""Request counters per route, for assertions and benchmarks (`GET /_emulator/stats`)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class RequestStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_route: Counter[str] = Counter()
        self.throttled = 0
        self.faults = 0
        self.writes = 0
        self.total = 0

    def count(self, route: str, *, write: bool) -> None:
        with self._lock:
            self.by_route[route] += 1
            self.total += 1
            self.writes += int(write)

    def count_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def count_fault(self) -> None:
        with self._lock:
            self.faults += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "writes": self.writes,
                "throttled": self.throttled,
                "faults": self.faults,
                "by_route": dict(self.by_route),
            }
