"""Engagement activities onto the timeline: rows of the Marketo activity table, regarding the lead
or contact the person is linked to, written in `$batch` requests of up to 1,000 operations.

- A person with no Dynamics record (not synced, filtered, deleted) costs nothing: its activities
  are skipped before any Dynamics call.
- A lead qualified into a contact: its activities go to the contact from then on.
- Individual rows are created once (`If-None-Match: *` on the alternate key): a replayed activity
  meets 412 and counts as already there, never a second row. Roll-up rows are upserted by key
  from the store's members (rollups.py), so their count only grows by activities not seen.
- A row Dynamics refuses goes to the errors table (object engagement, Marketo → Dynamics) with the
  row itself as its payload, and is retried from there with the errors' backoff: the activity log
  is not read again for it, and it never holds the stream.
Every write counts against the org's daily request entitlement, batched or not (api-limits.md):
roll-ups are how a mapping spends fewer of them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sync.connectors.dataverse import batch
from sync.connectors.dataverse.batch import BatchOperation
from sync.connectors.dataverse.policy import record_kind
from sync.engine.apply import PageCounts
from sync.engine.engagement_plan import EngagementPlan
from sync.engine.engagement_rows import TimelineRow, activity_key, asset, day_of, individual, rollup
from sync.engine.runtime import Engine
from sync.mapping.engagement import Mode
from sync.objects import M2D, PERSON_TARGET, SyncObject
from sync.store.links import Link, MarketoRef
from sync.store.rollups import MAX_MEMBERS, Rollup, RollupKey

ENGAGEMENT: Final = SyncObject.ENGAGEMENT
ALREADY_THERE: Final = 412  # If-None-Match: * on a row that exists: a replayed activity


def regarding(link: Link) -> tuple[str, str] | None:
    """(table, id) of the record a person's activities go to; None when there is none to write."""
    if link.deleted or link.filtered or link.pending:
        return None
    if link.qualified_into:
        return "contact", link.qualified_into
    return link.dynamics.table, link.dynamics.id


def _operation(engine: Engine, plan: EngagementPlan, row: TimelineRow, target: tuple[str, str]) -> BatchOperation:
    assert plan.table is not None
    table, record_id = target
    bind = f"regardingobjectid_{table}_{plan.table.logical_name}@odata.bind"
    body = {**row.values, bind: f"/{engine.tables[table].entity_set}({record_id})"}
    path = f"{plan.table.entity_set}({plan.names.key_column}='{row.key}')"
    return BatchOperation("PATCH", path, body, {"If-None-Match": "*"} if row.create_only else {})


def write_engagement(engine: Engine, activities: Sequence[Mapping[str, Any]]) -> PageCounts:
    """The page's activities of the types the timeline takes, written; what happened, counted."""
    plan = engine.engagement
    counts = PageCounts()
    if plan is None or not plan.timeline:
        return counts
    mine = [a for a in activities if int(a.get("activityTypeId", 0)) in plan.types]
    if not mine:
        return counts
    refs = list({MarketoRef(object=PERSON_TARGET, id=str(a["leadId"])) for a in mine})
    links = engine.store.links.get_many_by_marketo(refs)
    targets: dict[int, tuple[str, str]] = {}
    for ref, link in links.items():
        target = regarding(link)
        if target is not None:
            targets[int(ref.id)] = target
    rows: list[TimelineRow] = []
    day_members: dict[RollupKey, dict[str, str]] = defaultdict(dict)
    for activity in mine:
        person = int(activity["leadId"])
        if person not in targets:
            counts.filtered += 1  # no Dynamics record: skipped at no Dynamics cost
            continue
        kind = plan.types[int(activity["activityTypeId"])]
        if kind.mode is Mode.ROLLUP:
            day_members[RollupKey(day_of(activity), person, kind.id)][activity_key(activity)] = asset(activity)
        else:
            rows.append(individual(activity, kind, plan.names))
    stored = engine.store.rollups.get_many(day_members) if day_members else {}
    grown: dict[RollupKey, Rollup] = {}
    rolled: dict[str, tuple[RollupKey, dict[str, str]]] = {}  # row key → its roll-up and members
    for key, members in day_members.items():
        current = stored.get(key, Rollup({}, 0))
        merged = {**current.members, **{k: v for k, v in members.items() if k not in current.members}}
        merged = dict(list(merged.items())[:MAX_MEMBERS])
        if merged != current.members:
            grown[key] = Rollup(merged, current.written)
        if len(merged) == current.written:
            counts.unchanged += 1  # its row already counts every one of them
            continue
        row = rollup(key.person, plan.types[key.type_id], key.day, merged, plan.names)
        rolled[row.key] = (key, merged)
        rows.append(row)
    engine.store.rollups.put_many(grown)  # before the rows that count them (rollups.py: crash order)
    outcome = _write(engine, plan, [(row, targets[row.person_id]) for row in rows], known=set())
    engine.store.rollups.put_many(
        {rolled[k][0]: Rollup(rolled[k][1], len(rolled[k][1])) for k in outcome.done if k in rolled}
    )
    counts.add(outcome.counts)
    return counts


@dataclass
class Written:
    counts: PageCounts = field(default_factory=PageCounts)
    done: list[str] = field(default_factory=list)  # the keys of the rows written (or there already)


def _write(
    engine: Engine, plan: EngagementPlan, rows: list[tuple[TimelineRow, tuple[str, str]]], known: set[str]
) -> Written:
    written = Written()
    counts, done = written.counts, written.done
    for start in range(0, len(rows), batch.MAX_OPERATIONS):
        chunk = rows[start : start + batch.MAX_OPERATIONS]
        answers = batch.run(engine.dataverse.client, [_operation(engine, plan, r, t) for r, t in chunk])
        for (row, target), answer in zip(chunk, answers, strict=True):
            if answer.ok or (row.create_only and answer.status == ALREADY_THERE):
                counts.written += int(answer.ok)
                counts.unchanged += int(not answer.ok)
                done.append(row.key)
                continue
            counts.failed += 1
            code, message = answer.error
            payload = json.dumps(
                {"row": row.values, "person": row.person_id, "create_only": row.create_only, "target": target}
            )
            engine.store.errors.record_failure(
                ENGAGEMENT,
                M2D,
                row.key,
                operation=f"write {plan.names.table}",
                code=code or str(answer.status),
                message=message or f"HTTP {answer.status}",
                dynamics_id=target[1],
                marketo_id=str(row.person_id),
                kind=record_kind(answer.status).value,  # the connector's policy table, as for every write
                table=target[0],
                payload=payload,
            )
    if done and known:
        engine.store.errors.resolve_many(ENGAGEMENT, M2D, [k for k in done if k in known])
    return written


def retry_engagement(engine: Engine) -> PageCounts:
    """The refused rows that are due again, written from their stored payload."""
    plan = engine.engagement
    if plan is None or not plan.timeline:
        return PageCounts()
    due = [e for e in engine.store.errors.due(ENGAGEMENT) if e.direction is M2D and e.payload]
    rows = []
    for error in due:
        stored = json.loads(error.payload)
        row = TimelineRow(error.record_id, int(stored["person"]), dict(stored["row"]), bool(stored["create_only"]))
        rows.append((row, (str(stored["target"][0]), str(stored["target"][1]))))
    return _write(engine, plan, rows, known={e.record_id for e in due}).counts
