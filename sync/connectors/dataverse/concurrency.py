"""Concurrency that adapts to Dataverse's service protection: halve on a 429, grow by one after a
run of successes (AIMD), never below 1 nor above the ceiling."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AdaptiveConcurrency:
    def __init__(self, ceiling: int = 16, grow_after: int = 50) -> None:
        self.ceiling, self.grow_after = ceiling, grow_after
        self.limit = ceiling
        self._open = 0
        self._successes = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self._open >= self.limit:
                self._cond.wait()
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
