"""Writing a plan to Marketo: one target per kind of Marketo object, all answering one outcome
per record in input order. Marketo objects other than persons (companies, opportunities, sales
persons, custom objects, opportunity roles) are written here; persons, with first matching, in
`person_target.py`.

Every write is keyed by something that survives a crash (the Dynamics id as external id or
dedupe field, or the Marketo id a link holds), so repeating a page after a crash updates what
the first attempt created instead of creating it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo.envelope import RecordResult
from sync.connectors.marketo.lead_database import LeadDatabaseApi
from sync.connectors.marketo.policy import Refusal
from sync.engine.plan import Failure, Removal, Upsert
from sync.store.links import DynamicsRef, Link


@dataclass(frozen=True)
class Outcome:
    ref: DynamicsRef
    marketo_id: str | None = None
    failure: Failure | None = None
    synced: dict[str, Any] | None = None  # a merge decided what the link holds (else: the values written)
    fingerprint: str | None = None  # likewise, for the next Dynamics read
    takes_over: Link | None = None  # a qualified lead's link, now the contact's
    wrote: bool = True  # False: a merge found Marketo holding these values already


class MarketoTarget(Protocol):
    name: str  # the Marketo side of links: person, company, opportunity, …
    keeps_deleted_links: bool  # a removed record's link stays, marked deleted (its Marketo record stays too)

    def upsert(self, upserts: Sequence[Upsert]) -> list[Outcome]: ...

    def remove(self, removals: Sequence[Removal]) -> list[Outcome]: ...

    def gone(self, marketo_ids: Sequence[str]) -> set[str]:
        """Which of these records were deleted in Marketo since they were written (persons: a
        deletion the person stream follows); other records are never deleted there by users."""
        ...


def result_outcome(ref: DynamicsRef, result: RecordResult, operation: str) -> Outcome:
    """One record's Marketo result as an outcome; its reason's kind says whose fault a skip is."""
    marketo_id = str(result.id) if result.id is not None else result.marketoGUID
    if result.ok:
        return Outcome(ref, marketo_id)
    return Outcome(ref, marketo_id, skipped(ref, result, operation, marketo_id))


def skipped(ref: DynamicsRef, result: RecordResult, operation: str, marketo_id: str | None) -> Failure:
    """A record Marketo skipped, as the errors table keeps it: its code and message, and its kind."""
    reason = result.reason
    code, message = (reason.code, reason.message) if reason else ("skipped", "Marketo skipped the record")
    return Failure(ref, operation, code, message, result.kind or FailureKind.BAD_RECORD, marketo_id)


class ObjectTarget:
    """Companies, opportunities, sales persons and custom objects: upserted by the dedupe field
    that holds the Dynamics id, deleted by it too (no link needed)."""

    keeps_deleted_links = False

    def __init__(self, name: str, api: LeadDatabaseApi, key_field: str) -> None:
        self.name, self.api, self.key_field = name, api, key_field

    def upsert(self, upserts: Sequence[Upsert]) -> list[Outcome]:
        if not upserts:
            return []
        results = self.api.upsert([u.values for u in upserts])
        return [result_outcome(u.ref, r, "upsert") for u, r in zip(upserts, results, strict=True)]

    def update(self, records: Sequence[tuple[Link, dict[str, Any]]]) -> list[bool]:
        """Update only (a record Marketo no longer has is not created again)."""
        if not records:
            return []
        results = self.api.upsert(
            [{**values, self.key_field: link.dynamics.id} for link, values in records], action="updateOnly"
        )
        return [r.ok for r in results]

    def gone(self, marketo_ids: Sequence[str]) -> set[str]:
        return set()  # not deleted in Marketo by its users in a way the sync follows

    def remove(self, removals: Sequence[Removal]) -> list[Outcome]:
        if not removals:
            return []
        results = self.api.delete([{self.key_field: r.ref.id} for r in removals])
        return [removed(r.ref, result) for r, result in zip(removals, results, strict=True)]


class CampaignMemberTarget(ObjectTarget):
    """A person's campaign memberships: a record per Dynamics list member (one membership's
    lifetime; a member added again is a new list member). Created only — a record the flow step
    wrote (changedBy marketo) stays so — and never deleted: a removed member is marked removed,
    unless Marketo's record says so already (the flow step's own removal)."""

    def upsert(self, upserts: Sequence[Upsert]) -> list[Outcome]:
        if not upserts:
            return []
        results = self.api.upsert([u.values for u in upserts], action="createOnly")
        return [
            Outcome(u.ref, r.marketoGUID or str(u.values[self.key_field]), wrote=False)  # there already: linked
            if r.refusal is Refusal.ALREADY_EXISTS
            else result_outcome(u.ref, r, "upsert")
            for u, r in zip(upserts, results, strict=True)
        ]

    def remove(self, removals: Sequence[Removal]) -> list[Outcome]:
        if not removals:
            return []
        ids = [r.ref.id for r in removals]
        held = {
            str(r.get(self.key_field)): r for r in self.api.query(self.key_field, ids, [self.key_field, "memberStatus"])
        }
        open_ = [i for i in ids if i in held and held[i].get("memberStatus") != "removed"]
        if open_:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            marks = [
                {self.key_field: i, "memberStatus": "removed", "changedBy": "dynamics", "changedAt": now} for i in open_
            ]
            self.api.upsert(marks, action="updateOnly")
        return [Outcome(r.ref) for r in removals]


class OpportunityRoleTarget:
    """Opportunity roles: their dedupe key (opportunity, person, role) changes when a
    stakeholder's role or contact does, so the role a link points at is deleted by its
    marketoGUID before the new one is written, and removals go by marketoGUID too."""

    KEY = ("externalOpportunityId", "leadId", "role")
    keeps_deleted_links = False

    def __init__(self, name: str, api: LeadDatabaseApi) -> None:
        self.name, self.api = name, api

    def upsert(self, upserts: Sequence[Upsert]) -> list[Outcome]:
        moved = [u for u in upserts if u.link is not None and _key(u.link.synced) != _key(u.values)]
        if moved:
            self.remove([Removal(u.ref, u.link) for u in moved])
        if not upserts:
            return []
        results = self.api.upsert([u.values for u in upserts])
        return [result_outcome(u.ref, r, "upsert") for u, r in zip(upserts, results, strict=True)]

    def gone(self, marketo_ids: Sequence[str]) -> set[str]:
        return set()  # not deleted in Marketo by its users in a way the sync follows

    def remove(self, removals: Sequence[Removal]) -> list[Outcome]:
        known = [r for r in removals if r.link is not None]
        outcomes = {r.ref: Outcome(r.ref) for r in removals if r.link is None}  # never written: nothing to do
        if known:
            guids = [{"marketoGUID": r.link.marketo.id} for r in known if r.link is not None]
            results = self.api.delete(guids, delete_by="idField")
            outcomes.update({r.ref: removed(r.ref, res) for r, res in zip(known, results, strict=True)})
        return [outcomes[r.ref] for r in removals]


def _key(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values.get(k) for k in OpportunityRoleTarget.KEY)


def removed(ref: DynamicsRef, result: RecordResult) -> Outcome:
    """A deletion's outcome: a record Marketo no longer has is removed all the same."""
    if result.ok or result.refusal is Refusal.NOT_FOUND:
        return Outcome(ref)
    return result_outcome(ref, result, "delete")
