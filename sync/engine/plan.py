"""One page of changes + the links it touches → what to write. Pure: no I/O, table-tested.

Per row the pipeline has already decided (`Mapped` values, `Skip`, or `Pending` on a record not
yet in Marketo); the plan adds what the links know:
- values whose fingerprint equals the link's are dropped (no write: no echoes, quiet runs);
- a row the sync filter turned off stops its link (marked filtered, Marketo left as it is);
  when the filter turns on again the whole record is written;
- a row that no longer belongs to the pipeline (a connection that is not an opportunity
  stakeholder any more) and a deleted row are removals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sync.connectors.http.failures import FailureKind
from sync.engine.fingerprint import fingerprint
from sync.mapping.records import Mapped
from sync.store.links import DynamicsRef, Link


class Skip(Enum):
    FILTERED = "filtered"  # the sync filter column is false
    NOT_MINE = "not_mine"  # the row is not for this pipeline (any more)


@dataclass(frozen=True)
class Pending:
    """The row needs a record that is not in Marketo yet (a contact for a role): try later."""

    reason: str


@dataclass(frozen=True)
class TakeOver:
    """A contact qualified from a linked lead: it takes over the lead's Marketo person (§4)."""

    mapped: Mapped
    predecessor: Link


Decision = Mapped | Skip | Pending | TakeOver


@dataclass(frozen=True)
class Failure:
    ref: DynamicsRef
    operation: str
    code: str
    message: str
    kind: FailureKind
    marketo_id: str | None = None


@dataclass(frozen=True)
class Upsert:
    ref: DynamicsRef
    values: dict[str, Any]
    fingerprint: str
    link: Link | None
    row: Mapping[str, Any] = field(default_factory=dict)  # the Dynamics row (times, state, every field)
    takes_over: Link | None = None  # the qualified lead's link, whose person this record takes


@dataclass(frozen=True)
class Removal:
    ref: DynamicsRef
    link: Link | None


@dataclass
class Plan:
    upserts: list[Upsert] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    to_filter: list[Link] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)  # rows that need no write: an open error of theirs clears

    @property
    def unchanged(self) -> int:
        return len(self.in_sync)


def _live(link: Link | None) -> bool:
    return link is not None and not link.deleted and not link.filtered


def plan_page(
    decisions: Sequence[tuple[DynamicsRef, Decision]],
    deleted: Sequence[DynamicsRef],
    links: Mapping[DynamicsRef, Link],
    rows: Mapping[DynamicsRef, Mapping[str, Any]] | None = None,
) -> Plan:
    plan = Plan()
    for ref, decision in decisions:
        link = links.get(ref)
        if link is not None and link.qualified_into:
            plan.in_sync.append(ref.id)  # a qualified lead: its contact owns the person now
            continue
        row = (rows or {}).get(ref, {})
        if isinstance(decision, TakeOver):
            if link is None:
                values = decision.mapped.values
                plan.upserts.append(Upsert(ref, values, fingerprint(values), None, row, decision.predecessor))
                continue
            decision = decision.mapped
        if isinstance(decision, Skip):
            if decision is Skip.FILTERED and link is not None and not link.filtered:
                plan.to_filter.append(link.model_copy(update={"filtered": True}))
            elif decision is Skip.NOT_MINE and link is not None and not link.deleted:
                plan.removals.append(Removal(ref, link))
            continue
        if isinstance(decision, Pending):
            plan.failures.append(Failure(ref, "upsert", "pending", decision.reason, FailureKind.TRANSIENT))
            continue
        if decision.problems:
            message = "; ".join(decision.problems)
            plan.failures.append(Failure(ref, "upsert", "transform", message, FailureKind.BAD_RECORD))
            continue
        print_ = fingerprint(decision.values)
        if _live(link) and link is not None and link.fingerprint == print_:
            plan.in_sync.append(ref.id)
            continue
        plan.upserts.append(Upsert(ref, decision.values, print_, link, row))
    for ref in deleted:
        link = links.get(ref)
        if link is not None and link.qualified_into:
            continue  # the person is the contact's; the lead's deletion changes nothing in Marketo
        if link is None or not link.deleted:
            plan.removals.append(Removal(ref, link))
    return plan
