"""Marketo's limits are per subscription, not per process: when the app scales out (or a CLI runs
beside it), all processes together must stay under 100 calls per 20 s, 10 at a time and the
daily budget. Each process holds some of N shares of those limits (N = the concurrency limit, a
share = one call at a time and calls/N per window) and its limiter is set to what it holds.

A round, every `renew_s` on a daemon thread (and once, synchronously, at start):
1. renew our membership (one upsert), saying which lane we have been busy in (incremental,
   backfill, or idle): it keeps every share we hold for `lease_s`; our limiter may use them until
   a little before that, measured on our own monotonic clock;
2. read members and shares (two queries); our share comes from `lanes.lane_shares`: a process
   with incremental work before one copying, each keeping one share, backfill a floor;
3. above it: release the extra shares, handing over those of our calls still in Marketo's window
   that the shares we keep cannot carry, the oldest (the taker counts them until they leave the
   window, as we do: our own count comes back under what we keep just as they leave it) — but
   only once our calls in flight fit what we keep. Handing over every recent call instead, as
   the first version did, was safe but stalled the taker: an incremental process taking shares
   from a copy at Marketo's ceiling waited up to a window before its first call;
4. below it: take free shares, and shares whose owner's membership lapsed, by ETag swap; a
   lapsed owner may have called until the lapse, so such a share is used one window later (a
   member whose process is gone from this host counts as lapsed now: a crashed CLI or worker
   does not hold its shares for the rest of its membership);
5. tell the limiter what is usable now.

Why this holds: a share is used by one process at a time (the swap), calls made through a share
stay counted (by the releaser, and those it cannot carry by the taker too; or a window's wait
after a lapse), and in-flight calls never exceed the shares held (released only once they fit). The
daily budget is drawn from one counter per Marketo day in chunks, so no two processes spend the
same calls; unused calls are handed back at close.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sync.connectors.marketo.lanes import Lane, lane_shares
from sync.connectors.marketo.limiter import MARKETO_DAY_ZONE, MarketoLimiter
from sync.store.holders import holder_gone, process_owner
from sync.store.marketo_shares import MarketoShareStore, Share, lapsed_grace

log = logging.getLogger(__name__)

DRAW_CHUNK = 50  # calls taken from the day's budget at a time (one Table write per chunk)


class SharedMarketoLimits:
    def __init__(
        self,
        store: MarketoShareStore,
        limiter: MarketoLimiter,
        owner: str,
        *,
        lease_s: float = 15.0,
        renew_s: float = 3.0,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        gone: Callable[[str], bool] = holder_gone,
    ) -> None:
        self.store, self.limiter, self.owner = store, limiter, owner
        self.shares_total = limiter.max_concurrency
        self.calls_per_share = max(1, limiter.calls // self.shares_total)
        self.lease_s, self.renew_s, self._wall_clock = lease_s, renew_s, wall_clock
        self.window_s = limiter.window_s
        self._gone = gone
        self.held: list[Share] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round_lock = threading.Lock()

    def start(self) -> SharedMarketoLimits:
        self.limiter.draw_daily_from(self._draw)
        self.round()
        self._thread = threading.Thread(target=self._loop, name=f"marketo-shares-{self.owner}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.renew_s):
            try:
                self.round()
            except Exception:  # storage trouble: our grant lapses on its own; try again next round
                log.warning("renewing the Marketo call shares failed; retrying in %.0f s", self.renew_s, exc_info=True)

    def round(self) -> None:
        with self._round_lock:
            started, now = time.monotonic(), self._wall_clock()
            lane = self.limiter.busiest_lane(within_s=self.window_s)
            self.store.heartbeat(self.owner, now + timedelta(seconds=self.lease_s), lane.value if lane else "")
            valid_until = started + self.lease_s - 1.0  # a second of margin for clock skew
            rows = self.store.members()
            members = {m: min(row.lapses_at, now) if self._gone(m) else row.lapses_at for m, row in rows.items()}
            busy: dict[str, Lane | None] = {
                m: Lane(rows[m].lane) if rows[m].lane else None for m, lapses in members.items() if lapses > now
            }
            busy[self.owner] = lane
            target = lane_shares(busy, self.shares_total)[self.owner]
            shares = self.store.shares(self.shares_total)
            held = [s for s in shares if s.owner == self.owner]
            if len(held) > target:
                held = self._release(held, target, valid_until, now)
            elif len(held) < target:
                free = [s for s in shares if s.owner != self.owner and members.get(s.owner, now) <= now]
                held += self._take(free, target - len(held), members, now)
            self.held = held
            self._grant([s for s in held if s.usable_from <= now], valid_until)

    def _grant(self, usable: list[Share], valid_until: float) -> None:
        self.limiter.share(len(usable) * self.calls_per_share, len(usable), valid_until)

    def _release(self, held: list[Share], keep: int, valid_until: float, now: datetime) -> list[Share]:
        held = sorted(held, key=lambda s: s.index)
        kept, extra = held[:keep], held[keep:]
        self._grant([s for s in kept if s.usable_from <= now], valid_until)  # no new call beyond what we keep
        if not self.limiter.settle(len(kept), timeout_s=self.renew_s):
            return held  # calls in flight still need the extra shares: release at a later round
        epoch = time.time()
        # our calls in Marketo's window, newest first; those under way count from now (Marketo
        # counted them when they started)
        ends = [epoch] * self.limiter.in_flight + [epoch - age for age in self.limiter.window_call_ages()]
        usable = sum(1 for s in kept if s.usable_from <= now)  # a share taken after a lapse carries nothing yet
        over = len(ends) - usable * self.calls_per_share  # what the shares we keep cannot carry
        handed = ends[len(ends) - over :] if over > 0 else []
        for i, share in enumerate(extra):
            self.store.release(share, handed[i :: len(extra)])
        return kept

    def _take(self, free: list[Share], wanted: int, members: dict[str, datetime], now: datetime) -> list[Share]:
        taken: list[Share] = []
        for share in free:
            if len(taken) == wanted:
                break
            usable_from = share.usable_from
            if share.owner:  # its owner's membership lapsed (or it never said goodbye)
                lapsed = members.get(share.owner, now)
                usable_from = max(usable_from, lapsed + lapsed_grace(self.window_s))
            mine = self.store.take(share, self.owner, usable_from)
            if mine is None:
                continue  # another process took it first
            epoch = time.time()
            self.limiter.add_window_calls([epoch - t for t in share.window_calls])
            taken.append(mine)
        return taken

    def _draw(self) -> int:
        day = self._wall_clock().astimezone(MARKETO_DAY_ZONE).date().isoformat()
        return self.store.draw(day, DRAW_CHUNK, self.limiter.daily_budget)

    def close(self) -> None:
        """Hand back our shares (with our recent calls) and unused budget, then leave."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.renew_s + 5)
        with self._round_lock:
            epoch = time.time()
            ends = [epoch - age for age in self.limiter.window_call_ages()]
            for i, share in enumerate(self.held):
                self.store.release(share, ends[i :: len(self.held)])
            self.held = []
            day = self._wall_clock().astimezone(MARKETO_DAY_ZONE).date().isoformat()
            self.store.give_back(day, self.limiter.unused_allowance())
            self.store.leave(self.owner)


def join_shared_limits(store: MarketoShareStore, limiter: MarketoLimiter, enabled: bool) -> SharedMarketoLimits | None:
    """Every process that calls Marketo for the deployment takes its share (engine, checklist);
    None when MARKETO_SHARED_LIMITS is off."""
    if not enabled:
        return None
    owner = f"{process_owner()}:{uuid.uuid4().hex[:6]}"
    return SharedMarketoLimits(store, limiter, owner).start()
