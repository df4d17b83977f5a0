"""Draining the change queue: what the queue-triggered function does with the message it was
given, and what `python -m sync run` does between timer runs, so the CLI drives the same code.

A drain takes what is waiting with its message, up to 300 references (one Marketo call's worth
of persons), and syncs them together (`changes.py`): a burst of webhooks costs a call per 300
changes, not one each. While a burst is still arriving (the newest reference heard less than
`QUIET_S` ago) it waits for the rest, `GATHER_AT_MOST_S` at most: a mass update's notices, which
Dataverse posts one commit after another, go in one drain instead of one per poll; a lone change
waits at most `QUIET_S` more. What meets a busy object is handed over to the run holding its lease;
what finds no room there is put back with a few seconds' delay. Then it deletes the messages it
took. If it fails (an outage), nothing is deleted: the messages it took
reappear after their visibility ends and the host retries the given one, `MAX_DEQUEUE` times,
then moves it to the poison queue. A message that is not a change message goes there at once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from sync.engine.changes import MAX_WAITS, WAIT_S, ChangeResult, sync_changes
from sync.engine.runtime import Engine
from sync.store.change_queue import (
    MAX_DEQUEUE,
    MAX_REFS,
    BadChangeMessage,
    ChangeMessage,
    ChangeQueue,
    Received,
    parse_message,
)

log = logging.getLogger(__name__)
TAKEN_VISIBILITY_S: Final = 120  # messages taken beside the given one: back within two minutes if the drain dies
QUIET_S: Final = 1.0  # no notice heard for this long: the burst has arrived
GATHER_AT_MOST_S: Final = 5.0  # a steady stream of notices is synced at least this often


@dataclass
class DrainResult:
    messages: int = 0
    poisoned: int = 0
    requeued: int = 0
    result: ChangeResult = field(default_factory=ChangeResult)

    def summary(self) -> str:
        counts = self.result.total()
        parts = [
            f"{self.messages} message(s)",
            f"{counts.written} written",
            f"{counts.unchanged} in sync",
            f"{counts.failed} failed",
            f"{counts.removed} removed",
        ]
        if self.result.echoes:
            parts.append(f"{self.result.echoes} echo(es) of the sync's own writes left to the timer")
        if self.result.handed_over:
            parts.append(f"{self.result.handed_over} handed over to the run holding their object's lease")
        if self.requeued:
            parts.append(f"{self.requeued} put back (object busy)")
        if self.result.left:
            left = ", ".join(f"{o.value} ({why})" for o, why in self.result.left.items())
            parts.append(f"left to the timers: {left}")
        if self.poisoned:
            parts.append(f"{self.poisoned} to the poison queue")
        return "; ".join(parts)


def drain(engine: Engine, queue: ChangeQueue, given: ChangeMessage | None = None) -> DrainResult:
    """Sync `given` (the trigger's message, deleted by the host) with what else is waiting."""
    done = DrainResult(messages=int(given is not None))
    messages = [given] if given is not None else []
    taken: list[Received] = []
    gather_until = time.monotonic() + GATHER_AT_MOST_S
    while _take(queue, messages, taken, done) and time.monotonic() < gather_until:
        newest = max(ref.heard_at for message in messages for ref in message.refs)
        wait = QUIET_S - (datetime.now(UTC) - newest).total_seconds()
        if wait <= 0:
            break
        time.sleep(min(wait, max(0.0, gather_until - time.monotonic())))
    done.messages += len(taken)
    refs = [ref for message in messages for ref in message.refs]
    if refs:
        done.result = sync_changes(engine, refs)
        waits = 1 + max(m.waits for m in messages)
        if done.result.busy and waits <= MAX_WAITS:
            queue.put(done.result.busy, waits=waits, delay_s=WAIT_S)
            done.requeued = len(done.result.busy)
    queue.delete(taken)
    if done.messages or done.poisoned:
        log.info("change queue: %s", done.summary())
    return done


def _take(queue: ChangeQueue, messages: list[ChangeMessage], taken: list[Received], done: DrainResult) -> bool:
    """Take what is waiting, up to the drain's room; whether there is room left and any notice at all."""
    room = MAX_REFS - sum(len(message.refs) for message in messages)
    for received in queue.receive(room, TAKEN_VISIBILITY_S) if room > 0 else []:
        if received.dequeue_count > MAX_DEQUEUE:
            queue.to_poison(received)
            done.poisoned += 1
            continue
        try:
            message = parse_message(received.text)
        except BadChangeMessage as error:
            log.warning("change queue: message %s to the poison queue: %s", received.id, error)
            queue.to_poison(received)
            done.poisoned += 1
            continue
        messages.append(message)
        taken.append(received)
    refs = sum(len(message.refs) for message in messages)
    return 0 < refs < MAX_REFS


def drain_all(engine: Engine, queue: ChangeQueue, max_drains: int = 100) -> list[DrainResult]:
    """Drain until nothing is waiting (what the host does while messages keep arriving)."""
    results = []
    for _ in range(max_drains):
        result = drain(engine, queue)
        if not (result.messages or result.poisoned):
            break
        results.append(result)
    return results
