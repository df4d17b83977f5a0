"""Concurrency that adapts to Dataverse's service protection: halve on a 429, grow by one after a
run of successes (AIMD), never below 1 nor above the ceiling.

Dataverse counts concurrent requests per user (52) and answers 429 past them; halving at the
first 429 and creeping back up keeps the sync just under whatever the org's load leaves it,
without a fixed guess. A caller waiting for a slot never waits past its deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sync.connectors.http.deadline import Deadline, DeadlineExceeded
from sync.connectors.http.failures import FailureKind


class AdaptiveConcurrency:
    def __init__(self, ceiling: int = 16, grow_after: int = 50) -> None:
        self.ceiling, self.grow_after = ceiling, grow_after
        self.limit = ceiling
        self._open = 0
        self._successes = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self, deadline: Deadline | None = None) -> Iterator[None]:
        asked_at = time.monotonic()
        with self._cond:
            while self._open >= self.limit:
                if deadline is not None and deadline.expired:
                    raise DeadlineExceeded(
                        "Dataverse",
                        "waiting for a concurrency slot",
                        0,
                        time.monotonic() - asked_at,
                        f"{self._open} requests in flight at a limit of {self.limit} (halved by 429s)",
                        kind=FailureKind.THROTTLED,
                    )
                self._cond.wait(timeout=None if deadline is None else deadline.remaining())
            self._open += 1
        try:
            yield
        finally:
            with self._cond:
                self._open -= 1
                self._cond.notify_all()

    def throttled(self) -> None:
        with self._cond:
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def succeeded(self) -> None:
        with self._cond:
            self._successes += 1
            if self._successes >= self.grow_after and self.limit < self.ceiling:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()
