"""What one piece of work (a run, a stretch of a full copy) cost: its Marketo and Dataverse calls
and its store writes, counted for it alone.

Several pieces of work share a process and its connectors: the Functions host runs timer
functions, the queue trigger and Durable activities side by side, and the CLI runs each object's
timer on a thread of its own. A process-wide counter read before and after a run would charge the
run with everything that ran beside it. So the work opens a tally in a context variable
(`open_tally`), which reaches the threads its calls run on as deadlines and lanes do (they are
started with the caller's context), and the connectors and the store add to the tally of the
context they are called in; outside any tally, nothing is counted here (the process-wide
counters, which the status page reads live, count everything either way).
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Literal

Counted = Literal["marketo", "dataverse", "store_writes"]


@dataclass
class Tally:
    marketo: int = 0
    dataverse: int = 0
    store_writes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, what: Counted, n: int = 1) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + n)


_current: ContextVar[Tally | None] = ContextVar("work_tally", default=None)


def open_tally() -> tuple[Tally, Token[Tally | None]]:
    """A fresh tally for the work about to run in this context; `close_tally(token)` when it ends."""
    tally = Tally()
    return tally, _current.set(tally)


def close_tally(token: Token[Tally | None]) -> None:
    _current.reset(token)


def count(what: Counted, n: int = 1) -> None:
    """`n` more of `what` for the work running in this context, if it keeps a tally."""
    tally = _current.get()
    if tally is not None:
        tally.add(what, n)
