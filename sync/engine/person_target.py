"""Writing Dynamics leads and contacts to Marketo persons, with first matching, in as few calls
as the work allows.

- Linked records: `updateOnly` by the person's Marketo id, with only the fields that changed
  since the last sync (the whole record after the sync filter turned on again). A person
  deleted in Marketo (1004) is created anew and relinked (behaviour §7).
- New records with an email: `createOnly` looked up by email, so a fresh Marketo database
  costs one call per 300 persons. Emails Marketo already has (1005) are queried once per 300
  and decided by `match_person`: linked, given their own person, or sent to the errors table.
- New records without an email: `createOrUpdate` looked up by the Dynamics id field.
Every path writes the Dynamics id onto the person, so a page repeated after a crash finds its
own persons (by email or by that id) instead of creating them twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo.persons import PersonApi
from sync.engine.matching import MatchKind, match_person
from sync.engine.plan import Failure, Removal, Upsert
from sync.engine.targets import Outcome, result_outcome
from sync.mapping.schema import PersonFields

NOT_FOUND: Final = "1004"
# Marketo has this email already (1005), several times (1007), or earlier in the same input (1036).
TAKEN: Final = frozenset({"1005", "1007", "1036"})


@dataclass(frozen=True)
class PersonOutcome(Outcome):
    shared_with: tuple[int, ...] = ()  # other persons with this email, owned by other records


class PersonTarget:
    name = "person"

    def __init__(self, api: PersonApi, fields: PersonFields, delete_persons: bool = False) -> None:
        self.api, self.fields, self.delete_persons = api, fields, delete_persons

    # upserts

    def upsert(self, upserts: Sequence[Upsert]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        linked = [(n, u) for n, u in enumerate(upserts) if u.link is not None and not u.link.deleted]
        fresh = [(n, u) for n, u in enumerate(upserts) if u.link is None or u.link.deleted]
        fresh += self._update_linked(linked, outcomes)
        with_email = [(n, u) for n, u in fresh if u.values.get("email")]
        self._create_by_id_field([(n, u) for n, u in fresh if not u.values.get("email")], outcomes)
        self._match(self._create_by_email(with_email, outcomes), outcomes)
        return [outcomes[n] for n in range(len(upserts))]

    def _update_linked(
        self, linked: list[tuple[int, Upsert]], outcomes: dict[int, Outcome]
    ) -> list[tuple[int, Upsert]]:
        """Returns the records whose person Marketo no longer has: they are created again."""
        if not linked:
            return []
        sent: list[tuple[int, Upsert]] = []
        records = []
        for n, u in linked:
            assert u.link is not None
            base = {} if u.link.filtered else u.link.synced
            changed = {k: v for k, v in u.values.items() if k not in base or base[k] != v}
            if not changed:  # nothing Marketo lacks (the stored values were already these)
                outcomes[n] = Outcome(u.ref, u.link.marketo.id)
                continue
            sent.append((n, u))
            records.append({**changed, "id": int(u.link.marketo.id)})
        results = self.api.upsert(records, action="updateOnly", lookup_field="id") if records else []
        gone = []
        for (n, u), result in zip(sent, results, strict=True):
            if not result.ok and result.reason is not None and result.reason.code == NOT_FOUND:
                gone.append((n, u))
            else:
                outcomes[n] = result_outcome(u.ref, result, "update")
        return gone

    def _create_by_id_field(self, pairs: list[tuple[int, Upsert]], outcomes: dict[int, Outcome]) -> None:
        if pairs:
            results = self.api.upsert(
                [u.values for _, u in pairs], action="createOrUpdate", lookup_field=self.fields.id
            )
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
            if not result.ok and result.reason is not None and result.reason.code in TAKEN:
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
        if link:
            results = self.api.upsert(
                [{**u.values, "id": person_id} for _, u, person_id in link], action="updateOnly", lookup_field="id"
            )
            outcomes.update({n: result_outcome(u.ref, r, "link") for (n, u, _), r in zip(link, results, strict=True)})
        if own:
            results = self.api.upsert([u.values for _, u, _ in own], action="createDuplicate")
            for (n, u, others), result in zip(own, results, strict=True):
                plain = result_outcome(u.ref, result, "create")
                outcomes[n] = PersonOutcome(plain.ref, plain.marketo_id, plain.failure, shared_with=others)

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
            for removal, result in zip(known, results, strict=True):
                gone = result.reason is not None and result.reason.code in (NOT_FOUND, "1013")
                outcomes[removal.ref] = (
                    Outcome(removal.ref) if result.ok or gone else result_outcome(removal.ref, result, "delete")
                )
        return [outcomes[r.ref] for r in removals]
