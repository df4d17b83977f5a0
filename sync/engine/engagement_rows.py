"""Marketo activities → rows of the Marketo activity table: pure functions, no I/O.

An individual row is keyed by the activity's `marketoGUID` (Marketo's newer activity service may
omit or repeat `id`), so a replayed activity addresses the same row. A roll-up row is keyed by
person, type and day (UTC), and counts the distinct activities the store says it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sync.engine.engagement_plan import ActivityType
from sync.mapping.engagement import OTHER_WORDING, WORDING, EngagementNames

SUBJECT_MAX: Final = 200
ASSET_MAX: Final = 500
DETAIL_MAX: Final = 2000
SKIPPED_ATTRIBUTES: Final = frozenset(
    {"Campaign Run ID", "Step ID", "Choice Number", "Client IP Address", "User Agent"}
)


def activity_key(activity: Mapping[str, Any]) -> str:
    guid = activity.get("marketoGUID")
    return str(guid) if guid else f"id-{activity.get('id')}"


def _attributes(activity: Mapping[str, Any]) -> dict[str, Any]:
    return {str(a.get("name")): a.get("value") for a in activity.get("attributes") or []}


def asset(activity: Mapping[str, Any]) -> str:
    """What the activity was about, as a seller reads it: the email, form or page; the moment's
    description; the program and its new status."""
    attributes = _attributes(activity)
    primary = str(activity.get("primaryAttributeValue") or "")
    if "New Status" in attributes:
        return f"{primary} → {attributes['New Status']}"
    if attributes.get("Description"):
        return str(attributes["Description"])
    return primary or str(attributes.get("Webpage URL") or "")


def detail(activity: Mapping[str, Any]) -> str:
    shown = [
        f"{k}: {v}" for k, v in _attributes(activity).items() if v not in (None, "") and k not in SKIPPED_ATTRIBUTES
    ]
    return "; ".join(shown)[:DETAIL_MAX]


def day_of(activity: Mapping[str, Any]) -> str:
    return str(activity["activityDate"])[:10]


def rollup_key(person_id: int, type_id: int, day: str) -> str:
    return f"rollup-{person_id}-{type_id}-{day}"


@dataclass(frozen=True)
class TimelineRow:
    key: str  # the alternate key's value
    person_id: int
    values: dict[str, Any]  # the row's columns, regarding aside
    create_only: bool  # an individual activity never changes: written once, closed


def individual(activity: Mapping[str, Any], kind: ActivityType, names: EngagementNames) -> TimelineRow:
    what = asset(activity)
    template = WORDING.get(kind.name, OTHER_WORDING)[0]
    when = str(activity["activityDate"])
    values = {
        "subject": template.format(asset=what, type=kind.name, count=1)[:SUBJECT_MAX],
        "description": detail(activity),
        "actualstart": when,
        "actualend": when,
        "statecode": 1,  # completed: a closed activity on the timeline
        "statuscode": 2,
        names.column("activitytype"): kind.name,
        names.column("primaryattribute"): what[:ASSET_MAX],
        names.column("occurredon"): when,
        names.column("count"): 1,
        names.column("marketoleadid"): int(activity["leadId"]),
    }
    return TimelineRow(activity_key(activity), int(activity["leadId"]), values, create_only=True)


def rollup(
    person_id: int, kind: ActivityType, day: str, members: Mapping[str, str], names: EngagementNames
) -> TimelineRow:
    """A day's row for one person and type, from every activity it counts (key → asset)."""
    counted: dict[str, int] = {}
    for what in members.values():
        counted[what] = counted.get(what, 0) + 1
    listed = ", ".join(f"{what} ({n})" if n > 1 else what for what, n in sorted(counted.items(), key=lambda x: -x[1]))
    template = WORDING.get(kind.name, OTHER_WORDING)[1]
    values = {
        "subject": f"{template.format(count=len(members), type=kind.name, asset='')} on {day}"[:SUBJECT_MAX],
        "description": listed[:DETAIL_MAX],
        "actualstart": f"{day}T00:00:00Z",
        "actualend": f"{day}T23:59:59Z",
        names.column("activitytype"): kind.name,
        names.column("primaryattribute"): listed[:ASSET_MAX],
        names.column("occurredon"): f"{day}T00:00:00Z",
        names.column("count"): len(members),
        names.column("marketoleadid"): person_id,
    }
    return TimelineRow(rollup_key(person_id, kind.id, day), person_id, values, create_only=False)
