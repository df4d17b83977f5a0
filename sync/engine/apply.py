"""Outcomes of a page's Marketo writes → the store: links with their new fingerprints, failed
records to the errors table (with their kind), records that went through cleared from it.

Store writes per synced record: one link row (two for persons: the link and its index by
Marketo id), in batch transactions of up to 100 per partition; an errors row only for a record
that failed or had failed before. Unchanged records cost none.

Record-level failures of kind auth/config or quota (a mapped field Marketo does not have, a
partition the API user may not write) would fail every record alike: after storing what went
through, they stop the run like any systemic failure, and the checkpoint stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from sync.connectors.http.failures import ConnectorError, FailureKind
from sync.engine.person_target import PersonOutcome
from sync.engine.pipelines import Pipeline
from sync.engine.plan import Failure, Plan
from sync.engine.targets import Outcome
from sync.objects import D2M, SyncObject
from sync.store import SyncStore
from sync.store.links import DynamicsRef, Link, MarketoRef
from sync.store.notices import SHARED_EMAIL

RUN_STOPPING: Final = frozenset({FailureKind.AUTH_CONFIG, FailureKind.QUOTA})


class RecordsRefused(ConnectorError):
    """Marketo refused records for a reason that is not theirs (configuration, quota)."""

    service = "Marketo"

    def __init__(self, failures: Sequence[Failure]) -> None:
        first = failures[0]
        super().__init__(
            first.code,
            f"{len(failures)} record(s) refused for a reason no record can fix: {first.message}",
            kind=first.kind,
        )


@dataclass
class PageCounts:
    read: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    filtered: int = 0
    failed: int = 0
    oldest_change: str | None = None  # the earliest modifiedon among the rows read (lag)

    def add(self, other: PageCounts) -> None:
        for name in ("read", "written", "unchanged", "removed", "filtered", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.oldest_change = min(filter(None, [self.oldest_change, other.oldest_change]), default=None)


class SharedEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str
    detail: dict[str, Any]


class Settlement(BaseModel):
    """What a pushed page leaves in the store: decided from the outcomes at once (pure), stored
    after. Serializable, so that the page journal can keep it until it is stored."""

    model_config = ConfigDict(frozen=True)

    links: list[Link] = Field(default_factory=list)
    qualified: list[Link] = Field(default_factory=list)  # the person's index now names the contact
    dropped: list[Link] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    shared_emails: list[SharedEmail] = Field(default_factory=list)
    done: list[str] = Field(default_factory=list)  # records that went through (their errors clear)
    in_sync: list[str] = Field(default_factory=list)  # records with nothing to write (their errors clear too)
    counts: dict[str, int] = Field(default_factory=dict)  # written, unchanged, removed, filtered, failed

    @property
    def empty(self) -> bool:
        """Nothing for the store: storing it would write nothing."""
        return not (self.links or self.qualified or self.dropped or self.failures or self.shared_emails or self.done)

    def page_counts(self) -> PageCounts:
        counts = PageCounts()
        for name in COUNTED:
            setattr(counts, name, self.counts.get(name, 0))
        return counts


COUNTED: Final = ("written", "unchanged", "removed", "filtered", "failed")


def settlement_of(
    plan: Plan, upserted: Sequence[Outcome], removed: Sequence[Outcome], pipeline: Pipeline, pushed_at: datetime
) -> Settlement:
    """The store's part of a pushed page, decided from Marketo's outcomes (no I/O); `pushed_at`:
    when the page was written to Marketo."""
    failures = list(plan.failures)
    done: list[str] = []
    links: list[Link] = list(plan.to_filter)
    qualified: list[Link] = []
    dropped: list[Link] = []
    shared: list[SharedEmail] = []
    for upsert, outcome in zip(plan.upserts, upserted, strict=True):
        if outcome.failure is not None or outcome.marketo_id is None:
            failures.append(outcome.failure or _missing_id(upsert.ref))
            continue
        synced = outcome.synced if outcome.synced is not None else (upsert.values if pipeline.keeps_synced else {})
        links.append(
            Link(
                dynamics=upsert.ref,
                marketo=MarketoRef(object=pipeline.target.name, id=outcome.marketo_id),
                fingerprint=outcome.fingerprint or upsert.fingerprint,
                synced=synced,
                pushed_at=pushed_at if outcome.wrote else None,
            )
        )
        if outcome.takes_over is not None:
            qualified.append(outcome.takes_over.model_copy(update={"qualified_into": upsert.ref.id}))
        done.append(upsert.ref.id)
        if isinstance(outcome, PersonOutcome) and outcome.shared_with:
            detail = {
                "dynamics_id": upsert.ref.id,
                "marketo_id": outcome.marketo_id,
                "others": list(outcome.shared_with),
            }
            shared.append(SharedEmail(email=str(upsert.values.get("email", "")), detail=detail))
    for removal, outcome in zip(plan.removals, removed, strict=True):
        if outcome.failure is not None:
            failures.append(outcome.failure)
            continue
        done.append(removal.ref.id)
        if removal.link is None:
            continue
        if pipeline.target.keeps_deleted_links:
            links.append(removal.link.model_copy(update={"deleted": True}))
        else:
            dropped.append(removal.link)
    counts = {
        "written": sum(1 for o in upserted if o.failure is None),
        "unchanged": plan.unchanged,
        "removed": sum(1 for o in removed if o.failure is None),
        "filtered": len(plan.to_filter),
        "failed": len(failures),
    }
    return Settlement(
        links=links,
        qualified=qualified,
        dropped=dropped,
        failures=failures,
        shared_emails=shared,
        done=done,
        in_sync=plan.in_sync,
        counts=counts,
    )


def store_settlement(
    store: SyncStore, obj: SyncObject, pipeline: Pipeline, settlement: Settlement, known_errors: set[str]
) -> PageCounts:
    """Write a page's settlement; raises RecordsRefused when a failure stops the run (after
    storing what went through). Writing one twice stores the same rows again."""
    for note in settlement.shared_emails:
        store.notices.note(SHARED_EMAIL, obj, note.email, note.detail)
    store.links.upsert_many(settlement.links, index=pipeline.indexed)
    store.links.upsert_many(settlement.qualified, index=False)
    store.links.delete_many(settlement.dropped, index=pipeline.indexed)
    _record(store, obj, pipeline, settlement.failures)
    known_errors.update(f.ref.id for f in settlement.failures)  # a later success in this run clears them
    through = [*settlement.done, *settlement.in_sync]
    store.errors.resolve_many(obj, D2M, [i for i in through if i in known_errors])
    stopping = [f for f in settlement.failures if f.kind in RUN_STOPPING]
    if stopping:
        raise RecordsRefused(stopping)
    return settlement.page_counts()


def _missing_id(ref: DynamicsRef) -> Failure:
    return Failure(ref, "upsert", "no-id", "Marketo reported success without an id", FailureKind.FATAL)


def _record(store: SyncStore, obj: SyncObject, pipeline: Pipeline, failures: Iterable[Failure]) -> None:
    for failure in failures:
        store.errors.record_failure(
            obj,
            D2M,
            failure.ref.id,
            operation=failure.operation,
            code=failure.code,
            message=failure.message,
            dynamics_id=failure.ref.id,
            marketo_id=failure.marketo_id,
            kind=failure.kind.value,
            table=pipeline.stream,
        )
