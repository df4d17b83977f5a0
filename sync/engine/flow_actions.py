"""The native sync's flow actions as engine operations (behaviour §9): "sync person to Dynamics",
"change owner" and "create task". Marketo smart campaigns call them through webhooks; each is
idempotent, because Marketo retries a webhook that did not answer in time.

- sync person: the person's link if it has one; else the Dynamics record its `dynamicsId`
  names; else the one lead or contact with its email; else a new lead (or contact) whose id is
  derived from the person's id, so a repeated call finds the record the first one made. The
  record and the person are then merged like any new link (no base: a side with no value never
  wins), which also writes the Dynamics id onto the person.
- change owner: the linked record's owner becomes the user or team the sales person stands for.
- create task: a task regarding the linked record, its id derived from the call's key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sync.connectors.dataverse.guids import is_guid
from sync.connectors.dataverse.metadata import TableDefinition
from sync.engine.person_merge import OPEN, MergeItem, dynamics_columns
from sync.engine.runtime import Engine
from sync.mapping.transforms import format_datetime
from sync.objects import PERSON_TABLES, PERSON_TARGET, SyncObject
from sync.store.links import DynamicsRef, Link, MarketoRef

IDS: Final = uuid.UUID("6f1d5c2e-2b7e-4c1a-9c1e-8d7a3b0f5e21")  # namespace of the ids flow actions make
OWNER_TABLES: Final = ("systemuser", "team")  # what a Marketo sales person stands for
PERSON_TABLE_NAMES: Final = tuple(t.value for t in PERSON_TABLES)


class FlowActionError(ValueError):
    """The request cannot be carried out; the message says why (the webhook answers 4xx with it)."""


@dataclass(frozen=True)
class PersonSynced:
    dynamics: DynamicsRef
    marketo_id: int
    how: str  # "linked already", "by dynamicsId", "by email", "created"


def _person_table(engine: Engine, name: str) -> TableDefinition:
    if name not in PERSON_TABLE_NAMES:
        raise FlowActionError(f"persons sync to 'lead' or 'contact', not {name!r}")
    return engine.tables[name]


def _linked(engine: Engine, marketo_id: int) -> Link:
    link = engine.store.links.get_by_marketo(MarketoRef(object=PERSON_TARGET, id=str(marketo_id)))
    if link is None or link.deleted:
        raise FlowActionError(f"Marketo person {marketo_id} is not linked to a Dynamics record; sync the person first")
    if link.qualified_into:
        return link.model_copy(update={"dynamics": DynamicsRef(table="contact", id=link.qualified_into)})
    return link


def sync_person(engine: Engine, marketo_id: int, table: str = "lead") -> PersonSynced:
    definition = _person_table(engine, table)
    existing = engine.store.links.get_by_marketo(MarketoRef(object=PERSON_TARGET, id=str(marketo_id)))
    if existing is not None and not existing.deleted:
        return PersonSynced(existing.dynamics, marketo_id, "linked already")
    fields = engine.mapping.person_fields
    mapping = engine.mapping.table(table)
    names = ["id", "email", fields.id, fields.type, *(f.marketo for f in mapping.fields)]
    found = engine.marketo.persons.query("id", [str(marketo_id)], list(dict.fromkeys(names)))
    if not found:
        raise FlowActionError(f"Marketo has no person {marketo_id}")
    person = found[0]
    ref, how = _find_record(engine, person, table)
    if ref is None:
        ref, how = _create_record(engine, person, definition, marketo_id), "created"
    pipeline = next(p for p in engine.pipelines[SyncObject(ref.table)] if p.stream == ref.table)
    link = Link(dynamics=ref, marketo=MarketoRef(object=PERSON_TARGET, id=str(marketo_id)))
    (outcome,) = engine.merger.merge(
        pipeline, engine.mapping.table(ref.table), [MergeItem(link, None, known_base=False)]
    )
    if outcome.failure is not None or outcome.synced is None:
        why = outcome.failure.message if outcome.failure else f"the record is gone from {outcome.gone}"
        raise FlowActionError(f"person {marketo_id} could not be merged with {ref.table} {ref.id}: {why}")
    pushed = {"pushed_at": datetime.now(UTC)} if outcome.wrote_marketo else {}
    engine.store.links.upsert(
        link.model_copy(update={"synced": outcome.synced, "fingerprint": outcome.fingerprint, **pushed})
    )
    return PersonSynced(ref, marketo_id, how)


def _find_record(engine: Engine, person: dict[str, Any], table: str) -> tuple[DynamicsRef | None, str]:
    fields = engine.mapping.person_fields
    owner, kind = person.get(fields.id), person.get(fields.type)
    if (
        owner
        and kind in PERSON_TABLE_NAMES
        and is_guid(str(owner))
        and engine.dataverse.rows.by_ids(engine.tables[str(kind)], [str(owner)], [])
    ):
        return DynamicsRef(table=str(kind), id=str(owner)), "by dynamicsId"
    email = person.get("email")
    if not email:
        return None, ""
    matches: list[DynamicsRef] = []
    for name in PERSON_TABLE_NAMES:
        definition = engine.tables[name]
        column = next((f.dynamics for f in engine.mapping.table(name).fields if f.marketo == "email"), None)
        if column is None:
            continue  # the mapping carries no email for this table: nothing to match by
        rows = engine.dataverse.rows.where_equal(definition, column, str(email), [])
        matches += [DynamicsRef(table=name, id=str(row[definition.primary_id])) for row in rows]
    free = [m for m in matches if engine.store.links.get_by_dynamics(m) is None]
    if len(free) > 1:
        names = ", ".join(f"{m.table} {m.id}" for m in free)
        raise FlowActionError(f"several Dynamics records have the email {email} ({names}); link one by hand")
    return (free[0], "by email") if free else (None, "")


def _create_record(engine: Engine, person: dict[str, Any], table: TableDefinition, marketo_id: int) -> DynamicsRef:
    record_id = str(uuid.uuid5(IDS, f"{engine.marketo.client.base_url}/person/{marketo_id}"))
    mapping = engine.mapping.table(table.logical_name)
    values = {f.marketo: person.get(f.marketo) for f in mapping.fields if f.direction.to_dynamics}
    columns = dynamics_columns(
        {k: v for k, v in values.items() if v is not None}, {f.marketo: f for f in mapping.fields}, engine.tables
    )
    if not columns.get("lastname"):
        columns["lastname"] = str(person.get("email") or f"Marketo person {marketo_id}")
    (outcome,) = engine.dataverse.writer.upsert(table, [(record_id, columns)])
    if not outcome.ok:
        raise FlowActionError(f"Dynamics refused the new {table.logical_name}: {outcome.message}")
    return DynamicsRef(table=table.logical_name, id=record_id)


def change_owner(engine: Engine, marketo_id: int, sales_person: str) -> DynamicsRef:
    """The linked record's owner becomes the user or team whose sales person this is."""
    link = _linked(engine, marketo_id)
    owner = sales_person.lower()
    found = (name for name in OWNER_TABLES if engine.dataverse.rows.by_ids(engine.tables[name], [owner], []))
    owner_table = next(found, None) if is_guid(owner) else None
    if owner_table is None:
        raise FlowActionError(f"{sales_person!r} is neither a Dynamics user nor a team")
    owner_set = engine.tables[owner_table].entity_set
    table = engine.tables[link.dynamics.table]
    _writable(engine, link.dynamics)
    engine.dataverse.writer.update(table, link.dynamics.id, {"ownerid@odata.bind": f"/{owner_set}({owner})"})
    return link.dynamics


def create_task(
    engine: Engine, marketo_id: int, subject: str, *, description: str = "", due: datetime | None = None, key: str = ""
) -> str:
    """A task regarding the person's record; `key` (default: the person, subject and due date)
    names the task, so the same call twice makes one task."""
    if not subject.strip():
        raise FlowActionError("a task needs a subject")
    link = _linked(engine, marketo_id)
    task_id = str(uuid.uuid5(IDS, key or f"task/{marketo_id}/{subject}/{due.isoformat() if due else ''}"))
    columns: dict[str, Any] = {
        "subject": subject,
        # an activity's regarding navigation property is named after the activity too
        f"regardingobjectid_{link.dynamics.table}_task@odata.bind": f"/{engine.tables[link.dynamics.table].entity_set}"
        f"({link.dynamics.id})",
    }
    if description:
        columns["description"] = description
    if due is not None:
        columns["scheduledend"] = format_datetime(due)
    (outcome,) = engine.dataverse.writer.upsert(engine.tables["task"], [(task_id, columns)])
    if not outcome.ok:
        raise FlowActionError(f"Dynamics refused the task: {outcome.message}")
    return task_id


def _writable(engine: Engine, ref: DynamicsRef) -> None:
    """A qualified or disqualified lead is read-only in Dynamics: say so instead of failing there."""
    if ref.table == SyncObject.LEAD.value:
        rows = engine.dataverse.rows.by_ids(engine.tables[ref.table], [ref.id], ["statecode"])
        if rows and int(rows[0].get("statecode") or OPEN) != OPEN:
            raise FlowActionError(f"lead {ref.id} is qualified or disqualified, so read-only in Dynamics")
