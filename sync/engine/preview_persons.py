"""The preview's first matching of leads and contacts (`preview.py` reads and decides the rows):
against the persons Marketo has with their emails, looked up 300 a call, in record order as the
copy goes (`matching.py`: a person linked by one record is owned from then on): a new person; a
link to the one unlinked person with the email — and then how many differ from Dynamics, in which
fields, and which side's value wins under the mapping; ambiguous (several unlinked persons: the
errors table, naming them). Emails held by several Dynamics records are counted apart (after the
first, each gets a person of its own, as the native sync does). What carries across pages is
small: the emails seen and the persons claimed."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.marketo.batching import MAX_RECORDS
from sync.engine.matching import MatchKind, match_person
from sync.engine.pipelines import Pipeline
from sync.engine.preview_report import ObjectPreview
from sync.engine.runtime import Engine

CLAIMED: Final = "(linked to an earlier record of this copy)"  # stands for the claiming record's id


@dataclass
class PersonMatching:
    """The first matching across pages, in record order as the copy goes."""

    id_field: str
    fields: list[str]  # read from the persons Marketo has
    winners: dict[str, str]  # mapped field → the side whose value wins
    claimed: set[int] = field(default_factory=set)  # persons linked so far: owned from then on
    seen: set[int] = field(default_factory=set)  # digests of the emails seen: 1M in 70 MB (tracemalloc)
    shared: set[int] = field(default_factory=set)  # … of those held by several Dynamics records
    with_email: int = 0
    fresh: int = 0  # distinct emails Marketo has no person for: a create by email each
    no_email: int = 0
    differing: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(cls, engine: Engine, pipeline: Pipeline) -> PersonMatching:
        mapping = engine.mapping.table(pipeline.object.value)
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
        for record_id, values in decided:
            email = str(values.get("email") or "").strip().casefold()
            if email:
                self.with_email += 1
                digest = _digest(email)
                if digest in self.seen:
                    self.shared.add(digest)
                else:
                    self.seen.add(digest)
                    self.fresh += email not in by_email
            else:
                self.no_email += 1
            self.decide(result, record_id, values, by_email.get(email, []) if email else [])

    def decide(
        self, result: ObjectPreview, record_id: str, values: dict[str, Any], found: list[dict[str, Any]]
    ) -> None:
        candidates = [{**c, self.id_field: CLAIMED} if int(c["id"]) in self.claimed else c for c in found]
        match = match_person(record_id, candidates, self.id_field) if candidates else None
        if match is None or match.kind is MatchKind.CREATE_OWN:
            result.would_create += 1
            result.sample("would_create", record_id)
        elif match.kind is MatchKind.AMBIGUOUS:
            result.ambiguous += 1
            result.sample("ambiguous", f"{record_id} (persons {', '.join(map(str, match.others))})")
        elif match.person_id is not None:
            self.claimed.add(match.person_id)
            result.would_link += 1
            result.sample("would_link", f"{record_id} → person {match.person_id}")
            person = next(c for c in candidates if int(c["id"]) == match.person_id)
            changed = fields_differing(values, person, self.winners)
            if changed:
                result.differing += 1
                result.sample("differing", f"{record_id}: {', '.join(changed)}")
                self.differing.update(changed)

    def finish(self, engine: Engine, result: ObjectPreview) -> None:
        result.shared_emails = len(self.shared)
        result.differing_fields = dict(self.differing.most_common())
        result.winners = {name: self.winners[name] for name in result.differing_fields}
        _cost(result, self.with_email, len(self.seen), self.no_email, self.fresh)


def _digest(email: str) -> int:
    """8 bytes of BLAKE2b: about 3 in 100 million that two of a million emails collide."""
    return int.from_bytes(hashlib.blake2b(email.encode(), digest_size=8).digest(), "big")


def fields_differing(values: Mapping[str, Any], person: Mapping[str, Any], winners: Mapping[str, str]) -> list[str]:
    """The mapped fields whose Dynamics value is not what the person holds (empty is empty)."""

    def plain(value: Any) -> str:
        return "" if value is None else str(value).strip().casefold()

    return sorted(name for name in winners if name in values and plain(values[name]) != plain(person.get(name)))


def _cost(result: ObjectPreview, with_email: int, emails: int, no_email: int, fresh: int) -> None:
    """The copy's Marketo calls through REST, a call per 300 of each: emails sent once to be
    created; those Marketo has (or the copy sent twice) queried; linked persons merged (a read
    and a write); persons of their own made, for records without an email and apart for those
    whose email others own."""

    def calls(n: int) -> int:
        return math.ceil(n / MAX_RECORDS)

    own = max(0, result.would_create - fresh - no_email)
    result.copy_marketo_calls += (
        calls(emails) + calls(with_email - fresh) + 2 * calls(result.would_link) + calls(no_email) + calls(own)
    )
