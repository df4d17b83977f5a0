"""Deadlines: every call ends by one, whatever its retries, waits and rate-limit slots.

A Functions host stops a function at its timeout (host.json: 10 minutes); a run, a Durable
activity or a CLI command therefore sets a deadline below it and every call made inside
inherits it (`within`), so that no retry sleeps past the point where its work would be killed
anyway. Calls made outside any scope get the configured default (SYNC_CALL_DEADLINE_S).

Waiting for long work (bulk jobs) is never done inside one call: the CLI sleeps between steps,
Durable orchestrations use durable timers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from sync.connectors.http.failures import Action, ConnectorError, FailureKind

T = TypeVar("T")


class Deadline:
    """A point on the monotonic clock."""

    def __init__(self, at: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.at, self._clock = at, clock

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self._clock())

    @property
    def expired(self) -> bool:
        return self._clock() >= self.at

    def earliest(self, other: Deadline | None) -> Deadline:
        return self if other is None or self.at <= other.at else other

    def timeout(self, cap: float) -> float:
        """A socket timeout for one request: never past the deadline, never zero."""
        return max(0.001, min(cap, self.remaining()))


_current: ContextVar[Deadline | None] = ContextVar("sync_call_deadline", default=None)


@contextmanager
def within(deadline: Deadline) -> Iterator[Deadline]:
    """Every call made in this block (and in threads started with its context) ends by
    `deadline`, or by an enclosing block's, whichever comes first."""
    effective = deadline.earliest(_current.get())
    token = _current.set(effective)
    try:
        yield effective
    finally:
        _current.reset(token)


def resolve(explicit: Deadline | None, default_s: float) -> Deadline:
    """The deadline one call runs under: the caller's, else the enclosing scope's, else the default."""
    if explicit is not None:
        return explicit.earliest(_current.get())
    return _current.get() or Deadline.after(default_s)


class DeadlineExceeded(ConnectorError):
    """The deadline came before the call could succeed: says what failed last (or what it was
    waiting for), how many attempts were made and how long they took. Its kind is the last
    failure's (a 429 storm stays `throttled`), so the status page says why the run stopped."""

    def __init__(
        self,
        service: str,
        operation: str,
        attempts: int,
        elapsed_s: float,
        last: BaseException | str | None,
        *,
        kind: FailureKind | None = None,
    ) -> None:
        self.service = service
        self.operation, self.attempts, self.elapsed_s, self.last = operation, attempts, elapsed_s, last
        last_text = "none (the deadline had passed before the first attempt)" if last is None else str(last)
        if kind is None:
            kind = last.kind if isinstance(last, ConnectorError) else FailureKind.TRANSIENT
        super().__init__(
            "deadline",
            f"{operation} gave up at its deadline after {attempts} attempt(s) in {elapsed_s:.1f} s; "
            f"last failure: {last_text}",
            kind=kind,
            action=Action.FAIL,
        )
