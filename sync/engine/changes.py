"""Changes a webhook announced, synced in seconds through the same engine as the timers' runs:
the same decisions, merge, echo suppression, links and errors.

Per object, under the object's lease (never beside its timer run or its copy), in the
incremental lane:
- Dataverse references: the rows read by id, now, and pushed like a page (`push_by_ids`); a row
  no longer there is a deletion. Because the current row is read, a duplicate, reordered or
  stale notice comes to the same result, and the sync's own writes, which Dataverse announces
  too, are in sync and write nothing.
- Marketo references: linked persons merged both ways, as the activity stream merges them;
  persons not linked are left alone (the native default: a person made in Marketo is not
  created in Dynamics unless a flow action asks). A person the sync itself wrote in Marketo in
  the last `ECHO_WINDOW` (the link's `pushed_at`) is left to the timer's activity read:
  Marketo's trigger campaign fires for the sync's own writes too, and the activity carries the
  values that tell such an echo from an edit at no extra call, where a merge here would cost a
  read per notice. A link stored for any other reason (a merge that wrote only Dynamics) does
  not make a marketer's edit just after it look like an echo.
A webhook is a hint, never the record of a change: nothing here moves a checkpoint, so the timers
still read every change (finding it in sync) and reconcile any notice that was lost. An object
still in its full copy, paused or never copied leaves its references to the copy and the
timers. A busy object (its lease held) hands them over to the holder (`sync/store/handover.py`),
which syncs them between its pages; when the handover is full they go back to the queue a few
seconds later, up to `MAX_WAITS` times, and then the timer run that holds the lease, or the
next, takes the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from sync.connectors.marketo.lanes import Lane, in_lane
from sync.engine.apply import PageCounts
from sync.engine.pause import paused
from sync.engine.person_recovery import recover_person_pages
from sync.engine.person_stream import PersonStream
from sync.engine.pipelines import Pipeline
from sync.engine.runtime import Engine
from sync.objects import D2M, DIRECTIONS, M2D, PERSON_TABLES, PERSON_TARGET, SyncObject
from sync.store.change_queue import ChangeRef
from sync.store.checkpoints import Phase
from sync.store.links import Link, MarketoRef

LEASE: Final = timedelta(minutes=5)
MAX_WAITS: Final = 12  # with WAIT_S: a minute, the next timer run's start
WAIT_S: Final = 5
ECHO_WINDOW: Final = timedelta(seconds=10)  # a trigger campaign answers a write within seconds


@dataclass
class ChangeResult:
    """What one drain did with its references."""

    counts: dict[SyncObject, PageCounts] = field(default_factory=dict)
    busy: list[ChangeRef] = field(default_factory=list)  # their object's lease was held, no room to hand over
    handed_over: int = 0  # left to the run holding their object's lease
    left: dict[SyncObject, str] = field(default_factory=dict)  # object → why its references were left
    ignored: int = 0  # tables the sync does not follow, persons not linked
    echoes: int = 0  # persons the sync wrote moments ago: left to the timer's activity read

    def total(self) -> PageCounts:
        counts = PageCounts()
        for each in self.counts.values():
            counts.add(each)
        return counts


def watched_columns(engine: Engine) -> dict[str, list[str]]:
    """Per Dataverse table the sync reads, the columns whose change it syncs: what the webhook's
    Update step is filtered on (`modifiedon` changes with every update: never a filter)."""
    watched: dict[str, set[str]] = defaultdict(set)
    for pipelines in engine.pipelines.values():
        for pipeline in pipelines:
            columns = {_logical_name(c) for c in pipeline.select if c != "modifiedon"}
            watched[pipeline.table.logical_name] |= columns | {pipeline.table.primary_id}
    return {table: sorted(columns) for table, columns in watched.items()}


def _logical_name(column: str) -> str:
    """`_parentcustomerid_value` (a lookup as the Web API reads it) → `parentcustomerid`."""
    return column[1:-6] if column.startswith("_") and column.endswith("_value") else column


def sync_changes(engine: Engine, refs: Sequence[ChangeRef]) -> ChangeResult:
    result = ChangeResult()
    by_object: dict[SyncObject, list[ChangeRef]] = defaultdict(list)
    for ref in refs:
        objects = _objects_of(engine, ref)
        if not objects:
            result.ignored += 1
        for obj in objects:
            by_object[obj].append(ref)
    for obj, object_refs in by_object.items():
        _sync_object(engine, obj, object_refs, result)
    return result


def _objects_of(engine: Engine, ref: ChangeRef) -> list[SyncObject]:
    if ref.source == "marketo":
        return [SyncObject.PERSON]
    return [obj for obj, pipelines in engine.pipelines.items() if any(_reads(p, ref) for p in pipelines)]


def _reads(pipeline: Pipeline, ref: ChangeRef) -> bool:
    return pipeline.table.logical_name == ref.table


def _sync_object(engine: Engine, obj: SyncObject, refs: list[ChangeRef], result: ChangeResult) -> None:
    store = engine.store
    since = paused(store).get(obj)
    checkpoint = store.checkpoints.get(obj, DIRECTIONS[obj][0])
    if since is not None:
        result.left[obj] = "paused"
        return
    if checkpoint is None or checkpoint.phase is Phase.FULL_COPY:
        result.left[obj] = "in its full copy" if checkpoint else "not copied yet"
        return
    lease = store.leases.acquire(obj, f"{engine.owner}:changes", LEASE)
    if lease is None:
        if not store.handover.hand_over(obj, refs):
            result.busy.extend(refs)
            return
        lease = store.leases.acquire(obj, f"{engine.owner}:changes", LEASE)  # its holder may have just ended
        if lease is None:
            result.handed_over += len(refs)
            return
        refs = []  # handed over, so taken below with the rest
    try:
        handed = store.handover.take(obj)
        taken = refs + (handed.refs if handed else [])
        if taken:
            result.counts[obj] = sync_held(engine, obj, taken, result)
        if handed is not None:
            store.handover.settle(handed)
    finally:
        store.leases.release(lease)


def sync_held(
    engine: Engine, obj: SyncObject, refs: list[ChangeRef], result: ChangeResult, *, recover: bool = True
) -> PageCounts:
    """Sync `refs` of `obj`, whose lease the caller holds; `recover`: store what a crashed run
    journaled first (a run holding the lease did so at its start)."""
    with in_lane(Lane.INCREMENTAL, obj.value):
        if obj is SyncObject.PERSON:
            return _merge_persons(engine, refs, result, recover=recover)
        return _push_records(engine, obj, refs, recover=recover)


def _push_records(engine: Engine, obj: SyncObject, refs: list[ChangeRef], *, recover: bool) -> PageCounts:
    copier = engine.copier()
    known = engine.store.errors.record_ids(obj, D2M)
    checkpoint = engine.store.checkpoints.get(obj, D2M)
    counts = PageCounts()
    for pipeline in engine.pipelines[obj]:
        ids = list(dict.fromkeys(r.id.lower() for r in refs if _reads(pipeline, r)))
        if not ids:
            continue
        if recover and checkpoint is not None:  # a page a crashed run journaled is stored before anything newer
            checkpoint = copier.recover(checkpoint, pipeline, known)
        counts.add(copier.push_by_ids(obj, pipeline, ids, known))
    return counts


def _merge_persons(engine: Engine, refs: list[ChangeRef], result: ChangeResult, *, recover: bool) -> PageCounts:
    store = engine.store
    if recover:
        recover_person_pages(engine)  # a crashed run's links first, or their persons look unlinked
    wanted = [MarketoRef(object=PERSON_TARGET, id=r.id) for r in refs]
    links = store.links.get_many_by_marketo(list(dict.fromkeys(wanted)))
    by_table: dict[str, list[Link]] = defaultdict(list)
    now = datetime.now(UTC)
    live = [link for link in links.values() if PersonStream.live(link)]
    for link in live:
        if link.pushed_at is not None and now - link.pushed_at < ECHO_WINDOW:
            result.echoes += 1
        else:
            by_table[link.dynamics.table].append(link)
    result.ignored += len(set(wanted)) - len(live)
    stream = PersonStream(engine)
    known = {i for table in PERSON_TABLES for i in store.errors.record_ids(table, M2D)}
    counts = PageCounts(read=len(set(wanted)))
    for table, table_links in by_table.items():
        counts.add(stream.merge(table, table_links, known))
    return counts
