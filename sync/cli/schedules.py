"""`python -m sync run` without `--once`: the objects' timers as the Functions host would fire
them, from the same `SYNC_SCHEDULE_<OBJECT>` settings (six-field NCRONTAB, seconds first, UTC).

Like the host's timer with `use_monitor`, a tick missed while an earlier run was still going is
run once when the loop is free again, never once per missed tick; objects whose ticks coincide
fire in full-copy order (accounts before the contacts that name them). As the host runs each
timer function apart, each object's runs go on a thread of their own (`TimerThreads`): one
object's long run (a person run following a busy log) never holds another's tick. Beside them,
the change queue is polled as the host's queue trigger polls it (`QueuePoller`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from croniter import croniter

from sync.objects import FULL_COPY_ORDER, SyncObject

POLL_S: Final = 2.0  # host.json's extensions.queues.maxPollingInterval
log = logging.getLogger(__name__)


def next_tick(expression: str, after: datetime) -> datetime:
    """The first tick of a six-field NCRONTAB expression strictly after `after` (UTC)."""
    ticks = croniter(expression, after, second_at_beginning=True)
    tick: datetime = ticks.get_next(datetime)
    return tick


@dataclass
class Schedules:
    """When each object's timer next fires."""

    expressions: dict[SyncObject, str]
    due: dict[SyncObject, datetime] = field(default_factory=dict)

    @classmethod
    def starting(cls, expressions: dict[SyncObject, str], objects: Sequence[SyncObject], now: datetime) -> Schedules:
        chosen = {obj: expressions[obj] for obj in objects}
        return cls(chosen, {obj: next_tick(expr, now) for obj, expr in chosen.items()})

    def next_due(self) -> datetime:
        return min(self.due.values())

    def take_due(self, now: datetime) -> list[SyncObject]:
        """The objects whose tick has come, in full-copy order; each is re-armed after `now`."""
        ready = [obj for obj in FULL_COPY_ORDER if obj in self.due and self.due[obj] <= now]
        for obj in ready:
            self.due[obj] = next_tick(self.expressions[obj], now)
        return ready


def run_schedules(
    schedules: Schedules,
    fire: Callable[[SyncObject], object],
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    ticks: int | None = None,
) -> None:
    """Fire each object when its timer is due, until interrupted (or after `ticks` firings)."""
    fired = 0
    while ticks is None or fired < ticks:
        wait = (schedules.next_due() - clock()).total_seconds()
        if wait > 0:
            sleep(wait)
            continue
        for obj in schedules.take_due(clock()):
            fire(obj)
            fired += 1


class TimerThreads:
    """`fire(obj)` starts the object's run on a thread of its own, unless one is going: then the
    tick is run once when it ends (never once per tick), as the host's singleton timer does."""

    def __init__(self, run: Callable[[SyncObject], object]) -> None:
        self._run = run
        self._lock = threading.Lock()
        self._going: dict[SyncObject, threading.Thread] = {}
        self._again: set[SyncObject] = set()

    def fire(self, obj: SyncObject) -> None:
        with self._lock:
            if obj in self._going:
                self._again.add(obj)
                return
            thread = threading.Thread(target=self._runs, args=(obj,), name=f"timer-{obj.value}", daemon=True)
            self._going[obj] = thread
        thread.start()

    def _runs(self, obj: SyncObject) -> None:
        while True:
            try:
                self._run(obj)
            except Exception:  # a run's own failures are records; this is a bug or an outage
                log.exception("the %s run failed; its next tick runs it again", obj.value)
            with self._lock:
                if obj not in self._again:
                    del self._going[obj]
                    return
                self._again.discard(obj)

    def __enter__(self) -> TimerThreads:
        return self

    def __exit__(self, *exc: object) -> None:
        """Let the runs going finish (each ends within its budget; a minute is waited at most)."""
        with self._lock:
            self._again.clear()
            going = list(self._going.values())
        for thread in going:
            thread.join(timeout=60)


class QueuePoller:
    """`poll()` every `POLL_S` on its own thread while the timers run (as the host runs the queue
    trigger beside them); a failed poll is logged and tried again at the next."""

    def __init__(self, poll: Callable[[], object], every_s: float = POLL_S) -> None:
        self._poll, self._every_s = poll, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="change-queue", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
            except Exception:  # an outage: the messages wait in the queue for the next poll
                log.exception("draining the change queue failed; tried again in %.0f s", self._every_s)
            self._stop.wait(self._every_s)

    def __enter__(self) -> QueuePoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
