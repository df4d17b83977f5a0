"""The preview page (HTML) and its JSON: the latest preview of each object's first copy, as the
store keeps them (`sync/store/previews.py`) — running, failed with the reason, or its counts, the
fields that would change and whose value wins, why records would fail, a few ids per category and
the copy's cost. In the status page's style; no script, nothing but the report on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sync.objects import FULL_COPY_ORDER
from sync.reporting.status_page import ENV, duration
from sync.store.previews import StoredPreview

# (count, label, what it means) in the order an admin reads them
COUNT_LABELS: Final = (
    ("read", "rows read", "in Dynamics"),
    ("filtered_out", "filtered out", "by the sync filter"),
    ("would_create", "would create", "new in Marketo"),
    ("would_link", "would link", "to a record Marketo holds"),
    ("differing", "differing", "linked, with other values"),
    ("ambiguous", "ambiguous", "several persons hold the email"),
    ("shared_emails", "shared emails", "held by several Dynamics records"),
    ("would_fail", "would fail", "values Marketo would refuse"),
)
_ORDER: Final = {o.value: n for n, o in enumerate(FULL_COPY_ORDER)}


def previews_json(stored: list[StoredPreview]) -> dict[str, Any]:
    """What `GET sync/preview` answers: each object's latest preview."""
    objects = {}
    for each in sorted(stored, key=lambda s: _ORDER.get(s.object, len(_ORDER))):
        objects[each.object] = {
            "state": each.state.value,
            "started_at": each.started_at.isoformat(),
            "ended_at": each.ended_at.isoformat() if each.ended_at else None,
            **({"message": each.message} if each.message else {}),
            **(each.report or {}),
        }
    return {"objects": objects, "marketo_calls": sum(int(o.get("marketo_calls") or 0) for o in objects.values())}


def preview_page(stored: list[StoredPreview], now: datetime | None = None) -> str:
    report = previews_json(stored)
    objects = [
        {
            "object": name,
            "state": body["state"],
            "started_at": body["started_at"],
            "ended_at": body["ended_at"] or "",
            "message": body.get("message", ""),
            "report": body,
        }
        for name, body in report["objects"].items()
    ]
    return ENV.get_template("preview.html").render(
        objects=objects,
        counts=COUNT_LABELS,
        duration=duration,
        generated_at=(now or datetime.now(UTC)).isoformat(),
    )
