"""Writing Dynamics leads and contacts to Marketo persons, with first matching, in as few calls
as the work allows.

- Linked records: merged both ways (`person_merge.py`), Marketo written `updateOnly` by the
  person's id with only the fields that changed. A person deleted in Marketo (not found) is
  created anew and relinked (behaviour §7).
- New records with an email: `createOnly` looked up by email, so a fresh Marketo database
  costs one call per 300 persons. Emails Marketo already has (already exists, several match,
  twice in one call) are queried once per 300 and decided by `match_person`: linked, given
  their own person, or sent to the errors table.
- New records without an email, and records whose email other records' persons hold: a person
  of their own, made by `person_maker.py` (looked up by the Dynamics id field when Marketo takes
  it as a lookup, else at most once a call, a lost answer settled from the activity log).
Every path writes the Dynamics id onto the person, so a page repeated after a crash finds its
own persons (by email or by that id) instead of creating them twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo.persons import PersonApi
from sync.connectors.marketo.policy import Refusal
from sync.engine.matching import MatchKind, match_person
from sync.engine.person_maker import PersonMaker
from sync.engine.person_merge import MergeItem, PersonMerge
from sync.engine.pipelines import Pipeline
from sync.engine.plan import Failure, Removal, Upsert
from sync.engine.targets import Outcome, removed, result_outcome
from sync.mapping.file import PersonFields
from sync.mapping.resolve import TableMapping
from sync.objects import PERSON_TARGET
from sync.store.links import Link, MarketoRef

# Marketo has this email already, several times, or earlier in the same input.
TAKEN: Final = frozenset({Refusal.ALREADY_EXISTS, Refusal.SEVERAL_MATCH, Refusal.DUPLICATE_IN_INPUT})


@dataclass(frozen=True)
class _Merge:
    n: int  # the upsert's place in the batch
    upsert: Upsert
    item: MergeItem
    predecessor: Link | None = None  # a qualified lead's link, taken over


@dataclass(frozen=True)
class PersonOutcome(Outcome):
    shared_with: tuple[int, ...] = ()  # other persons with this email, owned by other records


class PersonTarget:
    name = PERSON_TARGET

    def __init__(
        self, api: PersonApi, fields: PersonFields, merger: PersonMerge, maker: PersonMaker, delete_persons: bool
    ) -> None:
        self.api, self.fields, self.merger, self.maker, self.delete_persons = api, fields, merger, maker, delete_persons
        self.keeps_deleted_links = not delete_persons  # the person stays, flagged; so does its link
        self._tables: dict[str, tuple[Pipeline, TableMapping]] = {}

    def bind(self, pipeline: Pipeline, mapping: TableMapping) -> None:
        """The lead and contact pipelines this target writes for (the merge needs their mapping)."""
        self._tables[pipeline.stream] = (pipeline, mapping)

    # upserts

    def upsert(self, upserts: Sequence[Upsert]) -> list[Outcome]:
        if not upserts:
            return []
        outcomes: dict[int, Outcome] = {}
        fresh: list[tuple[int, Upsert]] = []
        merges: list[_Merge] = []
        for n, u in enumerate(upserts):
            if u.takes_over is not None:  # a qualified lead's contact: the lead's person, the contact's values
                link = Link(dynamics=u.ref, marketo=u.takes_over.marketo, synced=u.takes_over.synced)
                merges.append(_Merge(n, u, MergeItem(link, u.row, known_base=False), u.takes_over))
            elif u.link is not None and not u.link.deleted:
                merges.append(_Merge(n, u, MergeItem(u.link, u.row)))
            else:
                fresh.append((n, u))
        fresh += self._merge(merges, outcomes)
        with_email = [(n, u) for n, u in fresh if u.values.get("email")]
        self._create_by_id_field([(n, u) for n, u in fresh if not u.values.get("email")], outcomes)
        self._match(self._create_by_email(with_email, outcomes), outcomes)
        return [outcomes[n] for n in range(len(upserts))]

    def _merge(self, merges: Sequence[_Merge], outcomes: dict[int, Outcome]) -> list[tuple[int, Upsert]]:
        """Merge linked records both ways; returns those whose person Marketo no longer has (§7:
        they get a new one)."""
        if not merges:
            return []
        pipeline, mapping = self._tables[merges[0].upsert.ref.table]
        results = self.merger.merge(pipeline, mapping, [m.item for m in merges])
        gone: list[tuple[int, Upsert]] = []
        for merged, result in zip(merges, results, strict=True):
            n, ref, predecessor = merged.n, merged.item.link.dynamics, merged.predecessor
            if result.gone == "marketo":
                gone.append((n, merged.upsert))
            elif result.gone == "dynamics":
                failure = Failure(
                    ref, "merge", "gone", "the record was deleted while it was read", FailureKind.TRANSIENT
                )
                outcomes[n] = Outcome(ref, None, failure)
            elif result.failure is not None:
                outcomes[n] = Outcome(ref, result.marketo_id, result.failure)
            else:
                outcomes[n] = Outcome(
                    ref,
                    result.marketo_id,
                    None,
                    result.synced,
                    result.fingerprint,
                    takes_over=predecessor,
                    wrote=result.wrote_marketo,
                )
        return gone

    def _create_by_id_field(self, pairs: list[tuple[int, Upsert]], outcomes: dict[int, Outcome]) -> None:
        results = self.maker.create([u.values for _, u in pairs])
        outcomes.update({n: result_outcome(u.ref, r, "create") for (n, u), r in zip(pairs, results, strict=True)})

    def _create_by_email(
        self, pairs: list[tuple[int, Upsert]], outcomes: dict[int, Outcome]
    ) -> list[tuple[int, Upsert]]:
        """Creates the persons Marketo has no email for; returns those whose email it has. Only
        the first record of each email is sent: the batch's calls run concurrently, and two
        creates of one email racing in two calls could both succeed."""
        if not pairs:
            return []
        first: dict[str, tuple[int, Upsert]] = {}
        existing = []
        for n, u in pairs:
            email = str(u.values["email"]).casefold()
            if email in first:
                existing.append((n, u))
            else:
                first[email] = (n, u)
        sent = list(first.values())
        results = self.api.upsert([u.values for _, u in sent], action="createOnly", lookup_field="email")
        for (n, u), result in zip(sent, results, strict=True):
            if result.refusal in TAKEN:
                existing.append((n, u))
            else:
                outcomes[n] = result_outcome(u.ref, result, "create")
        return sorted(existing, key=lambda pair: pair[0])

    def _match(self, pairs: list[tuple[int, Upsert]], outcomes: dict[int, Outcome]) -> None:
        if not pairs:
            return
        emails = [str(u.values["email"]) for _, u in pairs]
        found = self.api.query("email", emails, ["id", "email", self.fields.id])
        by_email: dict[str, list[dict[str, Any]]] = {}
        for person in found:
            by_email.setdefault(str(person.get("email") or "").casefold(), []).append(person)
        link: list[tuple[int, Upsert, int]] = []
        own: list[tuple[int, Upsert, tuple[int, ...]]] = []
        claimed: dict[int, str] = {}  # persons this batch links: owned from now on
        for n, u in pairs:
            email = str(u.values["email"])
            candidates = [
                {**c, self.fields.id: claimed[int(c["id"])]} if int(c["id"]) in claimed else c
                for c in by_email.get(email.casefold(), [])
            ]
            match = match_person(u.ref.id, candidates, self.fields.id)
            if match.kind is MatchKind.LINK and match.person_id is not None:
                claimed[match.person_id] = u.ref.id
                link.append((n, u, match.person_id))
            elif match.kind is MatchKind.CREATE_OWN:
                own.append((n, u, match.others))
            else:
                ids = ", ".join(map(str, match.others))
                outcomes[n] = Outcome(
                    u.ref,
                    None,
                    Failure(
                        u.ref,
                        "match",
                        "ambiguous-email",
                        f"{len(match.others)} Marketo persons that no Dynamics record owns have the email "
                        f"{email} (ids {ids}); merge them in Marketo, or set {self.fields.id} on the one to link",
                        FailureKind.BAD_RECORD,
                    ),
                )
        # first matching (or a link rebuilt from the person's Dynamics id): a merge with no base
        matched = [
            _Merge(
                n,
                u,
                MergeItem(Link(dynamics=u.ref, marketo=MarketoRef(object=PERSON_TARGET, id=str(pid))), u.row, False),
            )
            for n, u, pid in link
        ]
        for n, u in self._merge(matched, outcomes):
            failure = Failure(u.ref, "link", "gone", "the matched person is gone", FailureKind.TRANSIENT)
            outcomes[n] = Outcome(u.ref, None, failure)
        if own:
            results = self.maker.create([u.values for _, u, _ in own])
            for (n, u, others), result in zip(own, results, strict=True):
                plain = result_outcome(u.ref, result, "create")
                outcomes[n] = PersonOutcome(plain.ref, plain.marketo_id, plain.failure, shared_with=others)

    def update(self, records: Sequence[tuple[Link, dict[str, Any]]]) -> list[bool]:
        """Update persons by their Marketo id (update only)."""
        if not records:
            return []
        results = self.api.upsert(
            [{**values, "id": int(link.marketo.id)} for link, values in records], action="updateOnly", lookup_field="id"
        )
        return [r.ok for r in results]

    def gone(self, marketo_ids: Sequence[str]) -> set[str]:
        """The persons deleted (or merged away) in Marketo: one call per 300."""
        found = {str(p["id"]) for p in self.api.query("id", marketo_ids, ["id"])} if marketo_ids else set()
        return {i for i in marketo_ids if i not in found}

    # removals (behaviour §7)

    def remove(self, removals: Sequence[Removal]) -> list[Outcome]:
        """A deleted lead or contact: its person stays, marked deleted (or goes, if configured)."""
        known = [r for r in removals if r.link is not None]
        outcomes = {r.ref: Outcome(r.ref) for r in removals if r.link is None}
        if known:
            ids = [int(r.link.marketo.id) for r in known if r.link is not None]
            if self.delete_persons:
                results = self.api.delete(ids)
            else:
                marks = [{"id": i, self.fields.deleted: True} for i in ids]
                results = self.api.upsert(marks, action="updateOnly", lookup_field="id")
            outcomes.update({r.ref: removed(r.ref, result) for r, result in zip(known, results, strict=True)})
        return [outcomes[r.ref] for r in removals]
