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
from collections.abc import Iterator, Mapping
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
    """Page by page, as the copy reads: a page of rows decided, its emails looked up, its records
    matched in order; what carries across pages is small (the emails seen, the persons claimed)."""
    threshold = engine.settings.sync.bulk_threshold
    result = ObjectPreview(object=obj.value)
    if threshold and (record_total(engine, obj) or 0) >= threshold:
        result.path = "bulk"
    matching = _Matching.start(engine, obj)
    for pipeline in engine.pipelines[obj]:
        for rows in _pages(engine, pipeline):
            decided: list[tuple[str, dict[str, Any]]] = []
            for row in rows:
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
                decided.append((record_id, decision.values))
            matching.page(engine, result, decided)
    matching.finish(engine, result)
    return result


def _pages(engine: Engine, pipeline: Pipeline) -> Iterator[list[dict[str, Any]]]:
    params = {"$select": ",".join(pipeline.select)}
    prefer = [ANNOTATIONS, f"odata.maxpagesize={PAGE}"]
    for body in engine.dataverse.client.read_pages(pipeline.table.entity_set, params=params, prefer=prefer):
        yield list(body.get("value", []))


@dataclass
class _Matching:
    """The first matching across pages, in record order as the copy goes."""

    id_field: str
    fields: list[str]  # read from the persons Marketo has
    winners: dict[str, str]  # mapped field → the side whose value wins
    claimed: dict[int, str] = field(default_factory=dict)  # persons linked so far: owned from then on
    holders: Counter[str] = field(default_factory=Counter)  # email → Dynamics records holding it
    known: set[str] = field(default_factory=set)  # emails Marketo has
    no_email: int = 0
    differing: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(cls, engine: Engine, obj: SyncObject) -> _Matching:
        mapping = engine.mapping.table(obj.value)
        winners = {f.marketo: f.winner.value for f in mapping.fields if f.direction.to_marketo}
        described = engine.marketo.persons.describe().fields  # before a first copy the sync's own may be missing
        id_field = engine.mapping.person_fields.id
        fields = ["id", "email", *([id_field] if id_field in described else []), *sorted(set(winners) & set(described))]
        return cls(id_field, fields, winners)

    def page(self, engine: Engine, result: ObjectPreview, decided: list[tuple[str, dict[str, Any]]]) -> None:
        emails = {str(values.get("email") or "").strip() for _, values in decided} - {""}
        by_email: dict[str, list[dict[str, Any]]] = {}
        for person in engine.marketo.persons.query("email", sorted(emails), self.fields) if emails else []:
            by_email.setdefault(str(person.get("email") or "").casefold(), []).append(person)
        self.known |= set(by_email)
        for record_id, values in decided:
            email = str(values.get("email") or "").strip().casefold()
            if email:
                self.holders[email] += 1
            else:
                self.no_email += 1
            self.decide(result, record_id, values, by_email.get(email, []) if email else [])

    def decide(
        self, result: ObjectPreview, record_id: str, values: dict[str, Any], found: list[dict[str, Any]]
    ) -> None:
        candidates = [
            {**c, self.id_field: self.claimed[int(c["id"])]} if int(c["id"]) in self.claimed else c for c in found
        ]
        match = match_person(record_id, candidates, self.id_field) if candidates else None
        if match is None or match.kind is MatchKind.CREATE_OWN:
            result.would_create += 1
            result.sample("would_create", record_id)
        elif match.kind is MatchKind.AMBIGUOUS:
            result.ambiguous += 1
            result.sample("ambiguous", f"{record_id} (persons {', '.join(map(str, match.others))})")
        elif match.person_id is not None:
            self.claimed[match.person_id] = record_id
            result.would_link += 1
            result.sample("would_link", f"{record_id} → person {match.person_id}")
            person = next(c for c in candidates if int(c["id"]) == match.person_id)
            changed = _differing(values, person, self.winners)
            if changed:
                result.differing += 1
                result.sample("differing", f"{record_id}: {', '.join(changed)}")
                self.differing.update(changed)

    def finish(self, engine: Engine, result: ObjectPreview) -> None:
        result.shared_emails = sum(1 for count in self.holders.values() if count > 1)
        result.differing_fields = dict(self.differing.most_common())
        result.winners = {name: self.winners[name] for name in result.differing_fields}
        fresh = sum(1 for email in self.holders if email not in self.known)  # a create by email each
        _cost(engine, result, sum(self.holders.values()), len(self.holders), self.no_email, fresh)


def _differing(values: Mapping[str, Any], person: Mapping[str, Any], winners: Mapping[str, str]) -> list[str]:
    """The mapped fields whose Dynamics value is not what the person holds (empty is empty)."""

    def plain(value: Any) -> str:
        return "" if value is None else str(value).strip().casefold()

    return sorted(name for name in winners if name in values and plain(values[name]) != plain(person.get(name)))


def _cost(engine: Engine, result: ObjectPreview, with_email: int, emails: int, no_email: int, fresh: int) -> None:
    """The copy's Marketo calls through REST, a call per 300 of each: emails sent once to be
    created; those Marketo has (or the copy sent twice) queried; linked persons merged (a read
    and a write); persons of their own made, for records without an email and apart for those
    whose email others own — and its time at Marketo's call rate."""

    def calls(n: int) -> int:
        return math.ceil(n / MAX_RECORDS)

    own = max(0, result.would_create - fresh - no_email)
    result.copy_marketo_calls = (
        calls(emails) + calls(with_email - fresh) + 2 * calls(result.would_link) + calls(no_email) + calls(own)
    )
    limiter = engine.marketo.client.limiter
    result.eta_s = round(result.copy_marketo_calls / (limiter.calls / limiter.window_s), 1)
