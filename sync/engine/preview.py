"""Know before you sync: what the first copy of leads and contacts would do to a Marketo instance
that already holds persons, read from both sides as the copy reads them and written nowhere
(neither system, nor the store).

Per object: the rows read; those the sync filter leaves out; those that would fail (a value the
mapping cannot carry: a wrong type, longer than the Marketo field holds) with the copy's reason;
and for the rest, what the copy's own first matching (`matching.py`, records in
order, a person linked by one record owned from then on) decides against the persons Marketo has
with their emails, looked up 300 a call: a new person; a link to the one unlinked person with the
email — and then how many differ from Dynamics, in which fields, and which side's value wins under
the mapping; ambiguous (several unlinked persons: the errors table, naming them). Emails held by
several Dynamics records are counted apart (after the first, each gets a person of its own, as the
native sync does). Cost: the preview's own Marketo calls (a describe, one per 300 emails), and
what the copy would take through REST — its calls and, at Marketo's call rate, its time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.dataverse.changes import ANNOTATIONS
from sync.connectors.marketo.batching import MAX_RECORDS
from sync.connectors.marketo.lanes import Lane, in_lane
from sync.engine.full_copy import record_total
from sync.engine.matching import MatchKind, match_person
from sync.engine.pipelines import Pipeline
from sync.engine.plan import Skip, TakeOver
from sync.engine.runtime import Engine
from sync.mapping.records import Mapped
from sync.objects import PERSON_TABLES, SyncObject
from sync.tally import close_tally, open_tally

SAMPLES: Final = 5  # ids kept per category, for the admin to look at
PAGE: Final = 5000


@dataclass
class ObjectPreview:
    object: str
    path: str = "rest"
    read: int = 0
    filtered_out: int = 0
    would_create: int = 0
    would_link: int = 0
    ambiguous: int = 0
    shared_emails: int = 0  # emails held by several Dynamics records
    differing: int = 0  # persons that would be linked whose values differ
    would_fail: int = 0
    differing_fields: dict[str, int] = field(default_factory=dict)
    winners: dict[str, str] = field(default_factory=dict)  # differing field → the side whose value wins
    reasons: dict[str, int] = field(default_factory=dict)  # why records would fail
    samples: dict[str, list[str]] = field(default_factory=dict)  # category → a few Dynamics ids
    marketo_calls: int = 0  # the preview's own
    copy_marketo_calls: int = 0  # what the copy would make through REST
    eta_s: float = 0.0

    def sample(self, category: str, record_id: str) -> None:
        kept = self.samples.setdefault(category, [])
        if len(kept) < SAMPLES:
            kept.append(record_id)


def preview(engine: Engine, obj: SyncObject) -> ObjectPreview:
    """What the first copy of `obj` (a lead or contact table) would do; writes nothing."""
    if obj not in PERSON_TABLES:
        raise ValueError(f"the preview covers leads and contacts; {obj.value} is neither")
    tally, token = open_tally()
    try:
        with in_lane(Lane.INCREMENTAL, obj.value):  # an admin waits for it
            result = _preview(engine, obj)
    finally:
        close_tally(token)
    result.marketo_calls = tally.marketo
    return result


def _preview(engine: Engine, obj: SyncObject) -> ObjectPreview:
    threshold = engine.settings.sync.bulk_threshold
    result = ObjectPreview(object=obj.value)
    if threshold and (record_total(engine, obj) or 0) >= threshold:
        result.path = "bulk"
    mapping = engine.mapping.table(obj.value)
    winners = {f.marketo: f.winner.value for f in mapping.fields if f.direction.to_marketo}
    email_of: dict[str, str] = {}  # Dynamics id → the email its person would be matched by
    values_of: dict[str, dict[str, Any]] = {}
    for pipeline in engine.pipelines[obj]:
        for row in _rows(engine, pipeline):
            result.read += 1
            record_id = pipeline.row_id(row).lower()
            decision = pipeline.decide(row, {})
            if isinstance(decision, TakeOver):
                decision = decision.mapped
            if decision is Skip.FILTERED or not isinstance(decision, Mapped):
                result.filtered_out += 1
                result.sample("filtered_out", record_id)
                continue
            why = "; ".join(decision.problems)  # the mapping's checks: types, and Marketo's field lengths
            if why:
                result.would_fail += 1
                result.reasons[why] = result.reasons.get(why, 0) + 1
                result.sample("would_fail", record_id)
                continue
            values_of[record_id] = decision.values
            email_of[record_id] = str(decision.values.get("email") or "").strip()
    fresh = _match(engine, result, email_of, values_of, winners)
    _cost(engine, result, email_of, fresh)
    return result


def _rows(engine: Engine, pipeline: Pipeline) -> list[dict[str, Any]]:
    params = {"$select": ",".join(pipeline.select)}
    prefer = [ANNOTATIONS, f"odata.maxpagesize={PAGE}"]
    return [
        row
        for body in engine.dataverse.client.read_pages(pipeline.table.entity_set, params=params, prefer=prefer)
        for row in body.get("value", [])
    ]


def _match(
    engine: Engine,
    result: ObjectPreview,
    email_of: dict[str, str],
    values_of: dict[str, dict[str, Any]],
    winners: dict[str, str],
) -> int:
    """Decides each record; returns how many emails Marketo does not have (a create each)."""
    id_field = engine.mapping.person_fields.id
    emails = sorted({e for e in email_of.values() if e}, key=str.casefold)
    described = engine.marketo.persons.describe().fields  # before a first copy, the sync's own fields may not exist
    mapped = sorted({n for values in values_of.values() for n in values} & set(described))
    fields = ["id", "email", *([id_field] if id_field in described else []), *mapped]
    by_email: dict[str, list[dict[str, Any]]] = {}
    for person in engine.marketo.persons.query("email", emails, fields) if emails else []:
        by_email.setdefault(str(person.get("email") or "").casefold(), []).append(person)
    holders = Counter(e.casefold() for e in email_of.values() if e)
    result.shared_emails = sum(1 for count in holders.values() if count > 1)
    claimed: dict[int, str] = {}
    differing: Counter[str] = Counter()
    for record_id, email in email_of.items():
        candidates = [
            {**c, id_field: claimed[int(c["id"])]} if int(c["id"]) in claimed else c
            for c in by_email.get(email.casefold(), [])
        ]
        if not candidates:
            result.would_create += 1
            result.sample("would_create", record_id)
            continue
        match = match_person(record_id, candidates, id_field)
        if match.kind is MatchKind.AMBIGUOUS:
            result.ambiguous += 1
            result.sample("ambiguous", f"{record_id} (persons {', '.join(map(str, match.others))})")
        elif match.kind is MatchKind.CREATE_OWN:
            result.would_create += 1
            result.sample("would_create", record_id)
        elif match.person_id is not None:
            claimed[match.person_id] = record_id
            result.would_link += 1
            result.sample("would_link", f"{record_id} → person {match.person_id}")
            person = next(c for c in candidates if int(c["id"]) == match.person_id)
            changed = _differing(values_of[record_id], person, winners)
            if changed:
                result.differing += 1
                result.sample("differing", f"{record_id}: {', '.join(changed)}")
                differing.update(changed)
    result.differing_fields = dict(differing.most_common())
    result.winners = {name: winners[name] for name in result.differing_fields}
    return sum(1 for email in holders if email not in by_email)


def _differing(values: Mapping[str, Any], person: Mapping[str, Any], winners: Mapping[str, str]) -> list[str]:
    """The mapped fields whose Dynamics value is not what the person holds (empty is empty)."""

    def plain(value: Any) -> str:
        return "" if value is None else str(value).strip().casefold()

    return sorted(name for name in winners if name in values and plain(values[name]) != plain(person.get(name)))


def _cost(engine: Engine, result: ObjectPreview, email_of: dict[str, str], fresh: int) -> None:
    """The copy's Marketo calls through REST, a call per 300 of each: emails sent once to be
    created; those Marketo has (or the copy sent twice) queried; linked persons merged (a read
    and a write); persons of their own made, for records without an email and apart for those
    whose email others own — and its time at Marketo's call rate."""

    def calls(n: int) -> int:
        return math.ceil(n / MAX_RECORDS)

    emails = [e.casefold() for e in email_of.values() if e]
    no_email = len(email_of) - len(emails)
    own = max(0, result.would_create - fresh - no_email)
    result.copy_marketo_calls = (
        calls(len(set(emails)))
        + calls(len(emails) - fresh)
        + 2 * calls(result.would_link)
        + calls(no_email)
        + calls(own)
    )
    limiter = engine.marketo.client.limiter
    result.eta_s = round(result.copy_marketo_calls / (limiter.calls / limiter.window_s), 1)
