"""What engagement does in this org, decided once at start (I/O at the edge): which score rows
apply (their Dynamics columns exist), whether the Marketo activity table exists with its key's
index active, which activity types it takes (Marketo's type ids by name: they "may vary from
subscription to subscription"), and whether they ride on the person stream's call.

Riding: Marketo's Get Lead Activities takes up to 10 type ids a call and scans the log's next 300
activities of every type whatever is asked (Adobe KB ka-29362). So engagement types asked on the
person stream's own call cost no Marketo call at all; when the person stream's types and
engagement's do not fit in 10, engagement reads the log in a stream of its own, paying the log's
size again, within its own daily budget (SYNC_ENGAGEMENT_DAILY_CALLS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.customizations import Customizations
from sync.connectors.dataverse.errors import DataverseError
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.marketo.activities import DELETION, VALUE_CHANGE
from sync.connectors.marketo.connection import MarketoConnection
from sync.mapping.defaults import FieldRule
from sync.mapping.engagement import SCORE_TABLES, TIMELINE_COLUMNS, EngagementNames, Mode
from sync.mapping.file import EngagementEntry
from sync.mapping.resolve import Schemas

MAX_TYPES_PER_CALL: Final = 10
PERSON_TYPES: Final = (VALUE_CHANGE, DELETION)
PROGRAM_STATUS: Final = 104  # Change Status in Progression: campaign responses (campaign_responses.py)
CHANGE_SCORE: Final = "Change Score"  # a Score field's change (leadScore): not a Change Data Value


@dataclass(frozen=True)
class ActivityType:
    id: int
    name: str
    mode: Mode


@dataclass(frozen=True)
class EngagementPlan:
    names: EngagementNames
    score_rules: dict[str, list[FieldRule]] = field(default_factory=dict)  # table → the score rows that apply
    table: TableDefinition | None = None  # the Marketo activity table, when it exists with every column
    key_status: str | None = None  # its alternate key's index: Active, Pending, … (None: no key)
    types: dict[int, ActivityType] = field(default_factory=dict)  # the types the timeline takes, by id
    unknown_types: tuple[str, ...] = ()  # named in the mapping, not in this Marketo subscription
    person_types: tuple[int, ...] = PERSON_TYPES  # what the person stream asks for itself
    score_type: int | None = None  # Change Score's id, when a score field is mapped

    @property
    def rides(self) -> bool:
        """Read on the person stream's call: the types fit in one, and there is a table to write."""
        return self.timeline and len(set(self.person_types) | set(self.types)) <= MAX_TYPES_PER_CALL

    @property
    def asked(self) -> tuple[int, ...]:
        """The types the person stream's call asks for."""
        return tuple(sorted({*self.person_types, *self.types})) if self.rides else self.person_types

    @property
    def timeline(self) -> bool:
        """Whether activities can be written now."""
        return self.table is not None and self.key_status == "Active" and bool(self.types)

    def missing(self) -> str | None:
        """Why the timeline is not written, with the fix; None when it is."""
        if not self.types:
            return (
                "no activity types are chosen (engagement.types in the mapping file)"
                if not self.unknown_types
                else (f"Marketo has none of the activity types named: {', '.join(self.unknown_types)}")
            )
        if self.table is None:
            return f"Dynamics has no table {self.names.table} with its columns: run `python -m sync setup`"
        if self.key_status != "Active":
            state = self.key_status or "missing"
            return (
                f"the alternate key on {self.names.key_column} is {state}: "
                "run `python -m sync setup` (it waits for the index)"
            )
        return None


def activity_type_ids(marketo: MarketoConnection) -> dict[str, int]:
    """Marketo's activity types, name → id (Describe Activity Types: one call)."""
    envelope = marketo.client.read("/rest/v1/activities/types.json", {})
    return {str(t["name"]): int(t["id"]) for t in envelope.result}


def describe_timeline(
    dataverse: DataverseConnection, names: EngagementNames
) -> tuple[TableDefinition | None, str | None]:
    try:
        table = dataverse.metadata.describe(names.table)
    except DataverseError as error:
        if error.status == 404:
            return None, None
        raise
    if any(names.column(c.suffix) not in table.columns for c in TIMELINE_COLUMNS):
        return None, None
    status = Customizations(dataverse.client).key_status(names.table, [names.key_column])
    return table, status


def resolve_engagement(
    entry: EngagementEntry,
    prefix: str,
    schemas: Schemas,
    dataverse: DataverseConnection,
    marketo: MarketoConnection,
    responses: bool,
) -> EngagementPlan:
    """`responses`: whether the person stream asks for program status changes itself."""
    names = EngagementNames(prefix)
    rules: dict[str, list[FieldRule]] = {}
    person = schemas.marketo.get("person", {})
    if entry.scores:
        for table in SCORE_TABLES:
            described = schemas.tables.get(table)
            if described is not None:
                rules[table] = names.score_rules(set(person), set(described.columns))
    scored = any(person[r.marketo].data_type == "score" for rows in rules.values() for r in rows)
    modes = entry.modes()
    if not modes and not scored:
        return EngagementPlan(names, rules, person_types=(*PERSON_TYPES, *((PROGRAM_STATUS,) if responses else ())))
    ids = activity_type_ids(marketo)
    score_type = ids.get(CHANGE_SCORE) if scored else None
    person_types = (*PERSON_TYPES, *((score_type,) if score_type else ()), *((PROGRAM_STATUS,) if responses else ()))
    types = {ids[n]: ActivityType(ids[n], n, mode) for n, mode in modes.items() if n in ids}
    unknown = tuple(n for n in modes if n not in ids)
    timeline, status = describe_timeline(dataverse, names) if types else (None, None)
    return EngagementPlan(names, rules, timeline, status, types, unknown, person_types, score_type)


def summary(plan: EngagementPlan) -> dict[str, Any]:
    """What `check` and the status page say about engagement."""
    asked = sorted(set(plan.person_types) | set(plan.types))
    return {
        "scores": {table: [r.dynamics for r in rows] for table, rows in plan.score_rules.items()},
        "timeline": plan.timeline,
        "why_not": plan.missing(),
        "types": {t.name: t.mode.value for t in plan.types.values()},
        "reads": "the person stream's call (no extra Marketo call)"
        if plan.rides
        else f"its own stream ({len(asked)} types do not fit in one call of {MAX_TYPES_PER_CALL})",
    }
