"""Priority lanes on Marketo's limits: incremental work (timer runs, webhook-driven syncs, flow
actions) goes before backfill (full and bulk copies, resyncs), so a copy running at Marketo's
ceiling never holds back the change someone is waiting to see; backfill keeps a floor, so it
never starves either.

A call's lane and party (the object it works for) ride in context variables the caller sets
(`in_lane`), as deadlines do: they reach the worker threads a batch's calls run on, and the
connector's API need not name them. Two places read them:
- the limiter (`limiter.py`), among the calls of one process: an incremental call waiting goes
  first, parties take turns within a lane (one object's burst of changes cannot hold another's),
  and backfill may always have `BACKFILL_FLOOR` of the calls in flight;
- the shared limits (`sync/engine/shared_limits.py`), among processes: each says which lanes it
  has been busy in, and `lane_shares` splits the subscription's shares by that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class Lane(StrEnum):
    INCREMENTAL = "incremental"
    BACKFILL = "backfill"


PRIORITY: Final = (Lane.INCREMENTAL, Lane.BACKFILL)  # first served first
BACKFILL_FLOOR: Final = 0.2  # of the concurrency (and so of the shares) backfill may always use
WEIGHT: Final = {Lane.INCREMENTAL: 4, Lane.BACKFILL: 1}  # a process's claim on the shares, by its busiest lane

_lane: ContextVar[Lane] = ContextVar("marketo_lane", default=Lane.INCREMENTAL)
_party: ContextVar[str] = ContextVar("marketo_party", default="")


@contextmanager
def in_lane(lane: Lane, party: str = "") -> Iterator[None]:
    """Every Marketo call made inside (threads started with the context included) is `lane`'s,
    on behalf of `party`."""
    lane_token, party_token = _lane.set(lane), _party.set(party)
    try:
        yield
    finally:
        _lane.reset(lane_token)
        _party.reset(party_token)


def current() -> tuple[Lane, str]:
    return _lane.get(), _party.get()


def floor_of(capacity: int) -> int:
    """Calls in flight backfill may always have, out of `capacity`: at least one."""
    return max(1, round(capacity * BACKFILL_FLOOR))


def lane_shares(busy: Mapping[str, Lane | None], total: int) -> dict[str, int]:
    """How many of `total` shares each live process holds, from the lane it has been busy in
    (None: idle). Each keeps one where there are enough, so work starting anywhere needs no
    round to begin; the rest go to the busy ones by weight (an incremental process four times a
    backfill one: with one of each, 7 and 3), or evenly when none is busy; largest remainders
    first, ties by name, so every process computes the same split."""
    owners = sorted(busy)
    if not owners:
        return {}
    shares = dict.fromkeys(owners, 1 if total >= len(owners) else 0)
    left = total - sum(shares.values())
    takers = [o for o in owners if busy[o] is not None] or owners
    weights = {o: WEIGHT[lane] if (lane := busy[o]) is not None else 1 for o in takers}
    claims = {o: weights[o] * left / sum(weights.values()) for o in takers}
    for owner, claim in claims.items():
        shares[owner] += int(claim)
    by_remainder = sorted(takers, key=lambda o: (-(claims[o] - int(claims[o])), o))
    for owner in by_remainder[: total - sum(shares.values())]:
        shares[owner] += 1
    return shares


@dataclass
class Ticket:
    lane: Lane
    party: str
    serial: int


@dataclass
class WaitingLine:
    """The calls of one process waiting for a slot, and which of them may take the next one:
    the first of the incremental lane; the first of the backfill lane when no incremental call
    waits, or while backfill has fewer than its floor in flight. Within a lane, parties take
    turns (the one served longest ago first), and a party's calls go in arrival order. Not
    thread-safe: the limiter holds its lock around every use."""

    waiting: list[Ticket] = field(default_factory=list)
    in_flight: Counter[Lane] = field(default_factory=Counter)
    served: dict[tuple[Lane, str], int] = field(default_factory=dict)  # last serial served, per lane and party
    busy_at: dict[Lane, float] = field(default_factory=dict)  # when each lane last asked for a call (monotonic)
    _serials: int = 0

    def join(self, lane: Lane, party: str, now: float) -> Ticket:
        self._serials += 1
        ticket = Ticket(lane, party, self._serials)
        self.waiting.append(ticket)
        self.busy_at[lane] = now
        return ticket

    def leave(self, ticket: Ticket) -> None:
        """Gave up waiting (a deadline, the quota)."""
        self.waiting.remove(ticket)

    def may_go(self, ticket: Ticket, capacity: int) -> bool:
        heads = {lane: self._head(lane) for lane in PRIORITY}
        if heads[ticket.lane] is not ticket:
            return False
        if ticket.lane is Lane.INCREMENTAL:
            return True
        return heads[Lane.INCREMENTAL] is None or self.in_flight[Lane.BACKFILL] < floor_of(capacity)

    def start(self, ticket: Ticket) -> None:
        self.waiting.remove(ticket)
        self.in_flight[ticket.lane] += 1
        self.served[(ticket.lane, ticket.party)] = ticket.serial

    def end(self, ticket: Ticket) -> None:
        self.in_flight[ticket.lane] -= 1

    def busiest(self, now: float, within_s: float) -> Lane | None:
        """The highest lane that asked for a call in the last `within_s` seconds, or had one in flight."""
        for lane in PRIORITY:
            if self.in_flight[lane] or now - self.busy_at.get(lane, float("-inf")) < within_s:
                return lane
        return None

    def _head(self, lane: Lane) -> Ticket | None:
        mine = [t for t in self.waiting if t.lane is lane]
        if not mine:
            return None
        return min(mine, key=lambda t: (self.served.get((lane, t.party), 0), t.serial))
