"""Engagement in Dynamics, as data: the score columns on leads and contacts, the Marketo activity
table the timeline shows, the activity types written there by default and how each reads.

Every name here carries the publisher prefix of the org's solution (setting
DATAVERSE_PUBLISHER_PREFIX): `setup` creates these columns and the table when missing
(`engine/engagement_setup.py`), and the sync uses whichever exist.

Scores flow one way, Marketo → Dynamics, and Marketo wins: Lead Score is Marketo's scoring
model; Priority, Relative Score and Urgency and the last interesting moment are Sales Insight's
(system managed, read-only in Marketo), so nothing here is ever written back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sync.mapping.defaults import FieldRule
from sync.mapping.types import FieldDirection, Winner


class Mode(StrEnum):
    INDIVIDUAL = "individual"  # a timeline row per activity
    ROLLUP = "rollup"  # a row per person, type and day, counting them (fewer Dynamics writes)
    OFF = "off"


@dataclass(frozen=True)
class ColumnSpec:
    suffix: str  # the column's logical name after "<prefix>_"
    kind: str  # Dataverse AttributeType: String, Memo, Integer, Decimal, DateTime
    label: str
    max_length: int | None = None


# Marketo field → the lead / contact column it fills
SCORE_COLUMNS: Final[dict[str, ColumnSpec]] = {
    "leadScore": ColumnSpec("leadscore", "Integer", "Marketo Lead Score"),
    "relativeScore": ColumnSpec("relativescore", "Integer", "Marketo Relative Score"),
    "priority": ColumnSpec("priority", "Integer", "Marketo Priority"),
    "urgency": ColumnSpec("urgency", "Decimal", "Marketo Urgency"),
    "msiLastInterestingMomentType": ColumnSpec("lastmomenttype", "String", "Last Interesting Moment Type", 100),
    "msiLastInterestingMomentDesc": ColumnSpec("lastmomentdesc", "Memo", "Last Interesting Moment", 2000),
    "msiLastInterestingMomentSource": ColumnSpec("lastmomentsource", "String", "Last Interesting Moment Source", 100),
    "msiLastInterestingMomentDate": ColumnSpec("lastmomentdate", "DateTime", "Last Interesting Moment Date"),
}
SCORE_TABLES: Final = ("lead", "contact")

# The activity table (a custom activity: the timeline shows its rows on the regarding record)
TIMELINE_TABLE: Final = "marketoactivity"
TIMELINE_LABELS: Final = ("Marketo Activity", "Marketo Activities")
TIMELINE_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    ColumnSpec("activitykey", "String", "Marketo Activity Key", 100),  # the alternate key
    ColumnSpec("activitytype", "String", "Marketo Activity Type", 100),
    ColumnSpec("primaryattribute", "String", "Marketo Asset", 500),
    ColumnSpec("occurredon", "DateTime", "Occurred On"),
    ColumnSpec("count", "Integer", "Count"),
    ColumnSpec("marketoleadid", "Integer", "Marketo Person Id"),
)
KEY_SUFFIX: Final = "activitykeyindex"

# Activity type (Marketo's name) → its default mode; how one reads alone, and as a day's roll-up
DEFAULT_TYPES: Final[dict[str, Mode]] = {
    "Email Delivered": Mode.ROLLUP,
    "Open Email": Mode.INDIVIDUAL,
    "Click Email": Mode.INDIVIDUAL,
    "Unsubscribe Email": Mode.INDIVIDUAL,
    "Fill Out Form": Mode.INDIVIDUAL,
    "Visit Webpage": Mode.ROLLUP,
    "Interesting Moment": Mode.INDIVIDUAL,
    "Change Status in Progression": Mode.INDIVIDUAL,
}
WORDING: Final[dict[str, tuple[str, str]]] = {
    "Email Delivered": ("Email delivered: {asset}", "{count} email(s) delivered"),
    "Open Email": ("Opened email: {asset}", "Opened {count} email(s)"),
    "Click Email": ("Clicked a link in email: {asset}", "Clicked {count} email link(s)"),
    "Unsubscribe Email": ("Unsubscribed from email: {asset}", "Unsubscribed {count} time(s)"),
    "Fill Out Form": ("Filled out form: {asset}", "Filled out {count} form(s)"),
    "Visit Webpage": ("Visited web page: {asset}", "Visited {count} web page(s)"),
    "Interesting Moment": ("Interesting moment: {asset}", "{count} interesting moment(s)"),
    "Change Status in Progression": ("Program status: {asset}", "{count} program status change(s)"),
}
OTHER_WORDING: Final = ("{type}: {asset}", "{count} × {type}")


@dataclass(frozen=True)
class EngagementNames:
    """Every Dynamics name engagement uses, from the publisher prefix."""

    prefix: str

    def column(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"

    @property
    def table(self) -> str:
        return self.column(TIMELINE_TABLE)

    @property
    def key_column(self) -> str:
        return self.column("activitykey")

    def score_rules(self, marketo_fields: set[str], columns: set[str]) -> list[FieldRule]:
        """The score rows whose Marketo field and Dynamics column both exist."""
        return [
            FieldRule(self.column(spec.suffix), field, FieldDirection.TO_DYNAMICS, winner=Winner.MARKETO)
            for field, spec in SCORE_COLUMNS.items()
            if field in marketo_fields and self.column(spec.suffix) in columns
        ]
