"""The status report: per object and direction, phase, lease, pause, last runs (full copies among
them), last-hour throughput, lag, errors by kind; Marketo's calls today, as Marketo's usage report
last said and as the sync counts them live; what the change routes heard today (and turned
away, with why) and what waits in the change queue; and a day of hourly history for the chart.

Built from the store (and the change queue's counts) only, so the HTTP endpoint, the CLI and the
status page agree and a page load costs no Dynamics or Marketo call. Cursors (delta links, paging
tokens) are not shown: they say nothing to an admin and can be long.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from typing import Any

from azure.core.exceptions import AzureError

from sync.connectors.marketo.limiter import MARKETO_DAY_ZONE
from sync.engine.cursor import ObjectCursor
from sync.engine.pause import paused
from sync.engine.runtime import USAGE_KEY
from sync.objects import DIRECTIONS, FULL_COPY_ORDER, Direction, SyncObject
from sync.store import SyncStore
from sync.store.change_queue import ChangeQueue
from sync.store.intake import Outcome
from sync.store.notices import BULK_WARNING, SHARED_EMAIL
from sync.store.runs import RunKind, RunOutcome, RunRecord

NOT_STARTED = "not_started"
LANE_OF_KIND = {RunKind.INCREMENTAL: "incremental", RunKind.FULL_COPY: "backfill"}  # priority lanes (lanes.py)
SHARES = 10  # Marketo's concurrency: the shares its limits are split into
HISTORY_HOURS = 24


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _streams(cursor: str | None) -> dict[str, dict[str, Any]]:
    """How each of the object's tables is read, and how far the full copy got; never the links."""
    return {
        name: {"read_mode": stream.mode.value, "copied": stream.complete, "rows_read": stream.read}
        for name, stream in ObjectCursor.parse(cursor).streams.items()
    }


def _engagement(cursor: str | None, now: datetime) -> dict[str, Any] | None:
    """Engagement's own stream: its Marketo calls today against its budget, and how far behind
    the timeline is (its 10-minute late window included)."""
    state = json.loads(cursor) if cursor else {}
    if not state.get("day"):
        return None
    today = now.astimezone(MARKETO_DAY_ZONE).date().isoformat()
    through = datetime.fromisoformat(state["through"]) if state.get("through") else None
    return {
        "calls_today": int(state.get("calls", 0)) if state["day"] == today else 0,
        "budget": int(state.get("budget", 0)),
        "through": _iso(through),
        "backlog_s": round((now - through).total_seconds()) if through else None,
    }


def _bulk(cursor: str | None) -> dict[str, Any] | None:
    """A bulk first copy under way: its phase, jobs open at Marketo, rows imported, failed and
    imported with a warning, persons linked (docs/bulk-copy.md)."""
    state = ObjectCursor.parse(cursor).bulk
    if not state:
        return None
    return {
        "phase": state.get("phase", "import"),
        "open_jobs": len(state.get("open") or []),
        "files": int(state.get("flushes", 0)),
        "imported": int(state.get("imported", 0)),
        "failed": int(state.get("failed", 0)),
        "warned": int(state.get("warned", 0)),
        "linked": int(state.get("attached", 0)),
    }


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _last_hour(runs: list[RunRecord], now: datetime) -> dict[str, int]:
    recent = [r for r in runs if r.started_at >= now - timedelta(hours=1) and r.outcome is not RunOutcome.RUNNING]
    return {
        "runs": len(recent),
        "read": sum(r.read for r in recent),
        "written": sum(r.written for r in recent),
        "failed": sum(r.failed for r in recent),
    }


def _calls_today(store: SyncStore, now: datetime, by_lane: dict[str, int]) -> dict[str, Any]:
    """The sync's own count of today's Marketo calls (Marketo's day, US Central), live: what every
    process drew from the day's budget (ahead of use by at most one chunk a process), and what
    the day's runs and copies recorded (start-ups, checks and webhooks aside), by priority lane;
    and how the shares of Marketo's limits are split between the lanes now."""
    day = now.astimezone(MARKETO_DAY_ZONE).date().isoformat()
    shares = store.marketo_shares
    live = {owner: member.lane or "idle" for owner, member in shares.members().items() if member.lapses_at > now}
    held = Counter(live.get(share.owner, "") for share in shares.shares(SHARES) if share.owner in live)
    return {
        "day": day,
        "drawn": shares.drawn(day),
        "by_runs": sum(by_lane.values()),
        "by_lane": by_lane,
        "shares_now": {lane: held.get(lane, 0) for lane in ("incremental", "backfill", "idle")},
    }


def _changes(store: SyncStore, queue: ChangeQueue | None) -> dict[str, Any]:
    """Webhooks: per route, today's notices queued and turned away (with the last reason), and
    the change queue's depth: a webhook whose key went stale shows here, not as slower syncs."""
    routes: dict[str, dict[str, Any]] = {}
    for tally in store.intake.today():
        route = routes.setdefault(tally.route, {o.value: 0 for o in Outcome} | {"refused_last": None})
        route[tally.outcome.value] = tally.count
        refused = tally.outcome not in (Outcome.QUEUED, Outcome.IGNORED)
        if refused and (route["refused_last"] is None or tally.last_at.isoformat() > route["refused_last"]["at"]):
            route["refused_last"] = {
                "outcome": tally.outcome.value,
                "reason": tally.last_reason,
                "at": _iso(tally.last_at),
            }
    depth: dict[str, Any] | None = None
    if queue is not None:
        try:
            waiting, poison = queue.depth()
            depth = {"name": queue.name, "waiting": waiting, "poison": poison}
        except AzureError as error:
            depth = {"name": queue.name, "error": f"the queue could not be read ({type(error).__name__})"}
    return {"routes": routes, "queue": depth}


def status_report(
    store: SyncStore, now: datetime, runs_per_direction: int = 5, queue: ChangeQueue | None = None
) -> dict[str, Any]:
    checkpoints = {(c.object, c.direction): c for c in store.checkpoints.list()}
    marketo_day = datetime.combine(now.astimezone(MARKETO_DAY_ZONE).date(), time.min, MARKETO_DAY_ZONE)
    calls_by_lane = dict.fromkeys(("incremental", "backfill"), 0)
    paused_since = paused(store)
    day_start = now - timedelta(hours=HISTORY_HOURS)
    history: dict[datetime, dict[str, float]] = defaultdict(lambda: {"read": 0, "written": 0, "max_lag_s": 0.0})
    objects: list[dict[str, Any]] = []
    for obj in FULL_COPY_ORDER:
        lease = store.leases.current(obj)
        directions = []
        for direction in DIRECTIONS[obj]:
            checkpoint = checkpoints.get((obj, direction))
            day = list(store.runs.since(obj, direction, day_start))
            for run in (r for r in day if r.started_at >= marketo_day):
                calls_by_lane[LANE_OF_KIND[run.kind]] += run.marketo_calls
            for run in day:
                bucket = history[_hour(run.started_at)]
                bucket["read"] += run.read
                bucket["written"] += run.written
                bucket["max_lag_s"] = max(bucket["max_lag_s"], run.lag_seconds or 0.0)
            last = day[:runs_per_direction] or store.runs.recent(obj, direction, limit=runs_per_direction)
            latest = next((r for r in last if r.outcome is not RunOutcome.RUNNING), None)
            directions.append(
                {
                    "direction": direction.value,
                    "phase": checkpoint.phase.value if checkpoint else NOT_STARTED,
                    "counters": checkpoint.counters if checkpoint else {},
                    "checkpoint_updated_at": _iso(checkpoint.updated_at) if checkpoint else None,
                    "streams": _streams(checkpoint.cursor)
                    if checkpoint and direction is Direction.DYNAMICS_TO_MARKETO
                    else {},
                    "bulk": _bulk(checkpoint.cursor)
                    if checkpoint and direction is Direction.DYNAMICS_TO_MARKETO
                    else None,
                    "engagement": _engagement(checkpoint.cursor, now)
                    if checkpoint and obj is SyncObject.ENGAGEMENT
                    else None,
                    "last_hour": _last_hour(day, now),
                    "lag_seconds": latest.lag_seconds if latest else None,
                    "behind": bool(latest and "time budget" in latest.message),
                    "last_runs": [r.model_dump(mode="json", exclude={"object", "direction"}) for r in last],
                }
            )
        objects.append(
            {
                "object": obj.value,
                "running": lease is not None and lease.expires_at > now,
                "paused_since": _iso(paused_since.get(obj)),
                "lease": None
                if lease is None
                else {
                    "owner": lease.owner,
                    "acquired_at": _iso(lease.acquired_at),
                    "expires_at": _iso(lease.expires_at),
                },
                "errors": store.errors.summary(obj),
                "shared_emails": [
                    {"email": n.subject, **n.detail, "seen_at": _iso(n.seen_at)}
                    for n in store.notices.list(SHARED_EMAIL, obj, limit=20)
                ],
                "bulk_warnings": [
                    {"record": n.subject, **n.detail, "seen_at": _iso(n.seen_at)}
                    for n in store.notices.list(BULK_WARNING, obj, limit=20)
                ],
                "directions": directions,
            }
        )
    usage = store.meta.get(USAGE_KEY)
    hours = [_hour(now) - timedelta(hours=n) for n in range(HISTORY_HOURS - 1, -1, -1)]
    return {
        "generated_at": now.isoformat(),
        "quota": json.loads(usage) if usage else None,
        "calls_today": _calls_today(store, now, calls_by_lane),
        "paused": {o.value: since.isoformat() for o, since in paused_since.items()},
        "changes": _changes(store, queue),
        "history": [
            {"hour": h.isoformat(), **history.get(h, {"read": 0, "written": 0, "max_lag_s": 0.0})} for h in hours
        ],
        "objects": objects,
    }
