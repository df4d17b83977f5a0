"""The status report: per object and direction, phase, lease, last runs and errors.

Built from the store only, so the HTTP endpoint, the CLI and the status page agree. Cursors
(delta links, paging tokens) are not shown: they say nothing to an admin and can be long.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sync.engine.cursor import ObjectCursor
from sync.objects import DIRECTIONS, FULL_COPY_ORDER, Direction
from sync.store import SyncStore
from sync.store.notices import SHARED_EMAIL

NOT_STARTED = "not_started"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _streams(cursor: str | None) -> dict[str, dict[str, Any]]:
    """How each of the object's tables is read, and how far the full copy got; never the links."""
    return {
        name: {"read_mode": stream.mode.value, "copied": stream.complete, "rows_read": stream.read}
        for name, stream in ObjectCursor.parse(cursor).streams.items()
    }


def status_report(store: SyncStore, now: datetime, runs_per_direction: int = 5) -> dict[str, Any]:
    checkpoints = {(c.object, c.direction): c for c in store.checkpoints.list()}
    objects: list[dict[str, Any]] = []
    for obj in FULL_COPY_ORDER:
        lease = store.leases.current(obj)
        waiting, parked = store.errors.counts(obj)
        directions = []
        for direction in DIRECTIONS[obj]:
            checkpoint = checkpoints.get((obj, direction))
            runs = store.runs.recent(obj, direction, limit=runs_per_direction)
            directions.append(
                {
                    "direction": direction.value,
                    "phase": checkpoint.phase.value if checkpoint else NOT_STARTED,
                    "counters": checkpoint.counters if checkpoint else {},
                    "streams": _streams(checkpoint.cursor)
                    if checkpoint and direction is Direction.DYNAMICS_TO_MARKETO
                    else {},
                    "checkpoint_updated_at": _iso(checkpoint.updated_at) if checkpoint else None,
                    "last_runs": [r.model_dump(mode="json", exclude={"object", "direction"}) for r in runs],
                }
            )
        objects.append(
            {
                "object": obj.value,
                "running": lease is not None and lease.expires_at > now,
                "lease": None
                if lease is None
                else {
                    "owner": lease.owner,
                    "acquired_at": _iso(lease.acquired_at),
                    "expires_at": _iso(lease.expires_at),
                },
                "errors": {"waiting_retry": waiting, "parked": parked},
                "shared_emails": [
                    {"email": n.subject, **n.detail, "seen_at": _iso(n.seen_at)}
                    for n in store.notices.list(SHARED_EMAIL, obj, limit=20)
                ],
                "directions": directions,
            }
        )
    return {"generated_at": now.isoformat(), "objects": objects}
