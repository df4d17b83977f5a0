"""Merging linked persons: read both sides' current values, merge them three ways (pure,
`three_way.py`), write what each side lacks, and say what the link should hold afterwards.

Both directions use it: Dynamics → Marketo when a linked lead or contact changed (Marketo's
current values are read, one call per 300 persons, so a Marketo edit not yet read is never
overwritten against the policy), and Marketo → Dynamics when activities say a linked person
changed (the Dynamics rows are read, 40 per call). Whichever notices a change settles the whole
record, both ways; the other direction then finds the values equal to the base and writes
nothing. Marketo is written first, Dynamics second, the link last: a crash between them repeats
the merge, which finds part of the work done and does the rest.

A person belongs to the record whose id it carries. An established link whose person now
carries another record's id (a qualified lead's contact took it over, and the lead's change was
read before the contact's link was stored; or the field was edited in Marketo) is not merged:
writing would take the person back. The record goes to the errors table, retried, and clears
once its link settles (the lead's link then says its contact has the person).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.metadata import TableDefinition
from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo.persons import PersonApi
from sync.connectors.marketo.policy import Refusal
from sync.engine.fingerprint import fingerprint
from sync.engine.pipelines import Pipeline
from sync.engine.plan import Failure, Skip
from sync.engine.targets import skipped
from sync.engine.three_way import MergeRule, three_way_merge
from sync.mapping.file import PersonFields
from sync.mapping.records import Mapped, marketo_values
from sync.mapping.resolve import FieldMapping, TableMapping
from sync.mapping.transforms import TransformError, parse_datetime, to_dynamics
from sync.store.links import DynamicsRef, Link

OPEN: Final = 0  # a lead's statecode while it can be written (qualified and disqualified leads are read-only)


@dataclass(frozen=True)
class MergeItem:
    link: Link  # the person it joins (for a new or taken-over link: made by the caller)
    row: Mapping[str, Any] | None = None  # the Dynamics row, when the caller has it
    known_base: bool = True  # False: first matching, a rebuilt link, a takeover


@dataclass(frozen=True)
class MergeOutcome:
    ref: DynamicsRef
    marketo_id: str
    synced: dict[str, Any] | None = None  # what the link should hold now (None: leave it)
    fingerprint: str | None = None
    failure: Failure | None = None
    gone: str = ""  # "marketo" or "dynamics": the record no longer exists on that side
    wrote_marketo: bool = False
    wrote_dynamics: bool = False


@dataclass
class _Work:
    item: MergeItem
    row: Mapping[str, Any]
    values: dict[str, Any]  # the row in Marketo's terms, fields that flow to Marketo + the owned ones
    every: dict[str, Any]  # every mapped field in Marketo's terms (what the merge compares)
    person: dict[str, Any]
    to_marketo: dict[str, Any] = field(default_factory=dict)
    to_dynamics: dict[str, Any] = field(default_factory=dict)
    synced: dict[str, Any] = field(default_factory=dict)
    failure: Failure | None = None
    person_gone: bool = False  # Marketo no longer has the person (deleted or merged away meanwhile)


def rules_of(table: TableMapping) -> list[MergeRule]:
    return [MergeRule(f.marketo, f.direction, f.winner) for f in table.fields]


def _newer(row: Mapping[str, Any], person: Mapping[str, Any]) -> bool | None:
    if not row.get("modifiedon") or not person.get("updatedAt"):
        return None
    return parse_datetime(row["modifiedon"]) > parse_datetime(person["updatedAt"])


def dynamics_columns(
    values: Mapping[str, Any], by_marketo: Mapping[str, FieldMapping], tables: Mapping[str, TableDefinition]
) -> dict[str, Any]:
    """Marketo-side values → the Web API's columns (a lookup as an @odata.bind to its table)."""
    columns: dict[str, Any] = {}
    for name, value in values.items():
        mapping = by_marketo[name]
        converted = to_dynamics(value, mapping.spec)
        if mapping.reference:  # the mapping allows only single-target lookups this way (resolve.py)
            target = tables[mapping.lookup_target or ""]
            bound = None if converted is None else f"/{target.entity_set}({converted})"
            columns[f"{mapping.dynamics}@odata.bind"] = bound
        else:
            columns[mapping.dynamics] = converted
    return columns


class PersonMerge:
    def __init__(
        self,
        persons: PersonApi,
        dataverse: DataverseConnection,
        fields: PersonFields,
        tables: Mapping[str, TableDefinition],
    ) -> None:
        self.persons, self.dataverse, self.fields, self.tables = persons, dataverse, fields, tables

    def merge(self, pipeline: Pipeline, mapping: TableMapping, items: Sequence[MergeItem]) -> list[MergeOutcome]:
        if not items:
            return []
        outcomes: dict[DynamicsRef, MergeOutcome] = {}
        people = self._persons(mapping, [item.link for item in items])
        rows = self._rows(pipeline, [i for i in items if not i.row])
        work: list[_Work] = []
        for item in items:
            ref, marketo_id = item.link.dynamics, item.link.marketo.id
            person = people.get(int(marketo_id))
            row = item.row or rows.get(ref.id)
            if person is None or row is None:
                outcomes[ref] = MergeOutcome(ref, marketo_id, gone="marketo" if person is None else "dynamics")
                continue
            claimed = self._claimed_by_another(item, person)
            if claimed is not None:
                outcomes[ref] = MergeOutcome(ref, marketo_id, failure=claimed)
                continue
            decided = pipeline.decide(row, {})
            if isinstance(decided, Skip) or not isinstance(decided, Mapped):
                outcomes[ref] = MergeOutcome(ref, marketo_id)  # filtered out: no sync either way
                continue
            every = marketo_values(row, mapping, every_field=True)
            problems = decided.problems + every.problems
            if problems:
                failure = Failure(ref, "merge", "transform", "; ".join(problems), FailureKind.BAD_RECORD, marketo_id)
                outcomes[ref] = MergeOutcome(ref, marketo_id, failure=failure)
                continue
            work.append(_Work(item, row, decided.values, every.values, person))
        for job in work:
            self._decide(job, mapping)
        self._write_marketo(work)
        self._write_dynamics(work, mapping, pipeline.table)
        for job in work:
            outcomes[job.item.link.dynamics] = self._outcome(job)
        return [outcomes[i.link.dynamics] for i in items]

    # reading

    def _persons(self, mapping: TableMapping, links: Sequence[Link]) -> dict[int, dict[str, Any]]:
        names = [f.marketo for f in mapping.fields]
        wanted = list(dict.fromkeys(["id", *names, *self.fields.model_dump().values(), "updatedAt"]))
        found = self.persons.query("id", [link.marketo.id for link in links], wanted)
        return {int(p["id"]): p for p in found}

    def _rows(self, pipeline: Pipeline, items: Sequence[MergeItem]) -> dict[str, dict[str, Any]]:
        if not items:
            return {}
        rows = self.dataverse.rows.by_ids(pipeline.table, [i.link.dynamics.id for i in items], pipeline.select)
        return {pipeline.row_id(row).lower(): row for row in rows}

    def _claimed_by_another(self, item: MergeItem, person: Mapping[str, Any]) -> Failure | None:
        carried = str(person.get(self.fields.id) or "").lower()
        ref = item.link.dynamics
        if not item.known_base or not carried or carried == ref.id.lower():
            return None  # a takeover or first match carries its predecessor's id, or none, by design
        kind = person.get(self.fields.type) or "record"
        message = (
            f"Marketo person {item.link.marketo.id} carries {kind} {carried}'s id in {self.fields.id}, not this "
            f"{ref.table}'s: another record took it over (a qualified lead's contact), or the field was edited in "
            f"Marketo. Nothing is written to it; retried until the link settles (if it was an edit, set "
            f"{self.fields.id} back to {ref.id.lower()})"
        )
        return Failure(ref, "merge", "claimed", message, FailureKind.TRANSIENT, item.link.marketo.id)

    # deciding

    def _decide(self, job: _Work, mapping: TableMapping) -> None:
        link = job.item.link
        current = {f.marketo: job.person.get(f.marketo) for f in mapping.fields}
        merged = three_way_merge(
            link.synced,
            job.every,
            current,
            rules_of(mapping),
            dynamics_newer=_newer(job.row, job.person),
            known_base=job.item.known_base,
        )
        owned = {k: v for k, v in job.values.items() if k not in current and job.person.get(k) != v}
        job.to_marketo = {**merged.to_marketo, **owned}
        job.to_dynamics = merged.to_dynamics
        if job.to_dynamics and mapping.table == "lead" and job.row.get("statecode", OPEN) != OPEN:
            for name in job.to_dynamics:  # a qualified or disqualified lead is read-only: keep its base
                merged.base[name] = link.synced.get(name) if job.item.known_base else job.every.get(name)
            job.to_dynamics = {}
        job.synced = {**merged.base, **{k: v for k, v in job.values.items() if k not in current}}

    # writing

    def _write_marketo(self, work: Sequence[_Work]) -> None:
        pending = [job for job in work if job.to_marketo]
        if not pending:
            return
        records = [{**job.to_marketo, "id": int(job.item.link.marketo.id)} for job in pending]
        results = self.persons.upsert(records, action="updateOnly", lookup_field="id")
        for job, result in zip(pending, results, strict=True):
            if not result.ok:
                job.failure = skipped(job.item.link.dynamics, result, "merge", job.item.link.marketo.id)
                job.person_gone = result.refusal is Refusal.NOT_FOUND

    def _write_dynamics(self, work: Sequence[_Work], mapping: TableMapping, table: TableDefinition) -> None:
        pending = [job for job in work if job.to_dynamics and job.failure is None]
        if not pending:
            return
        by_marketo = {f.marketo: f for f in mapping.fields}
        records: list[tuple[str, dict[str, Any]]] = []
        ready: list[_Work] = []
        for job in pending:
            try:
                records.append((job.item.link.dynamics.id, dynamics_columns(job.to_dynamics, by_marketo, self.tables)))
                ready.append(job)
            except TransformError as error:
                ref = job.item.link.dynamics
                job.failure = Failure(ref, "merge", "transform", str(error), FailureKind.BAD_RECORD, ref.id)
        for job, outcome in zip(ready, self.dataverse.writer.update_many(table, records), strict=True):
            if not outcome.ok:
                ref = job.item.link.dynamics
                kind = outcome.kind or FailureKind.FATAL
                job.failure = Failure(ref, "merge", outcome.code or str(outcome.status), outcome.message, kind, ref.id)

    def _outcome(self, job: _Work) -> MergeOutcome:
        link = job.item.link
        if job.failure is not None:
            gone = "marketo" if job.person_gone else ""
            return MergeOutcome(link.dynamics, link.marketo.id, failure=job.failure, gone=gone)
        # what the Dynamics row will map to once the writes land: the next Dynamics read is no change
        expected = {**job.values, **{k: v for k, v in job.to_dynamics.items() if k in job.values}}
        return MergeOutcome(
            link.dynamics,
            link.marketo.id,
            synced=job.synced,
            fingerprint=fingerprint(expected),
            wrote_marketo=bool(job.to_marketo),
            wrote_dynamics=bool(job.to_dynamics),
        )
