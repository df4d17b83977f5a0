"""Marketo → Dynamics for leads and contacts: Marketo's activity log after a stored paging token.

One call a page carries data value changes (13) and deletions (37) together; a quiet minute
costs one call (1,440 a day with 1-minute timers). New persons (12) are not asked for: nothing
here acts on them (below), and a first copy's hundreds of thousands would only fill the pages.
Asking for fewer types does not make the log cheaper to read, though: Marketo scans the next 300
activities of every type per call (Adobe KB ka-29362), so the stream pays a call per 300
activities anyone logged, a copy's own new persons and emails opened alike — which is why the
run reads the next pages while it applies this one (`read_ahead.py`).

Per page:
- deletions of linked persons drop the link and note it (behaviour §7); the Dynamics record
  stays, and gets a new person if it changes later;
- changes to linked persons are first compared with what the link says was last synced: the
  sync's own writes come back this way and are dropped with no read and no write (no echoes);
- the rest are merged both ways (`person_merge.py`), a batch per table;
- new persons Marketo made on its own are not created in Dynamics (the native sync's default;
  the "sync person" flow action does it on request);
- program status changes (104), asked for only when the mapping links programs to campaigns,
  become campaign responses (`campaign_responses.py`) at no extra call.
A paging token not read for 14 days may have missed deletions Marketo no longer keeps: the
stream re-baselines by checking every linked person (300 a call) before taking a new token.

Late activities. Marketo's paging tokens are date-based, and an activity may be committed after
its `activityDate` (Marketo's KB: "REST API Paging Tokens Use Case"): a reader whose token has
passed that date never sees it. So a sweep follows the lead reader at `LATE_WINDOW` behind
Marketo's own clock (its Date header), every `SWEEP_EVERY`: each pass reads the activities dated
between the last pass's boundary and now − LATE_WINDOW again and processes them like any page.
What the lead reader already applied comes back as echoes (the link holds those values) and
costs nothing; what it missed is merged. An activity committed up to LATE_WINDOW after its date
arrives; a pass costs one paging-token call plus a call per 300 activities of its span (idle:
two calls per pass, 576 a day). Nothing is keyed on an activity's `id`, which Marketo's newer
activity service may omit or repeat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from sync.connectors.marketo.activities import DELETION, VALUE_CHANGE, ActivityPage
from sync.engine.apply import PageCounts
from sync.engine.campaign_responses import PROGRAM_STATUS, respond, retry_responses
from sync.engine.engagement_writes import write_engagement
from sync.engine.person_merge import MergeItem, MergeOutcome
from sync.engine.runtime import Engine
from sync.mapping.resolve import TableMapping
from sync.mapping.transforms import TransformError, parse_datetime, to_dynamics
from sync.objects import M2D, PERSON_TABLES, PERSON_TARGET, SyncObject
from sync.store.checkpoints import Checkpoint, Phase
from sync.store.links import DynamicsRef, Link, MarketoRef
from sync.store.notices import PERSON_DELETED

ACTIVITY_TYPES: Final = (VALUE_CHANGE, DELETION)
DELETIONS_KEPT: Final = timedelta(days=14)  # Marketo prunes deleted-lead activities after this
# Marketo dates activities by its own clock; a paging token asked "since now" by ours would skip
# the activities of the next minutes if Marketo's clock runs behind. Starting this much earlier
# only re-reads changes the merge already has (it writes nothing for them).
CLOCK_SKEW_MARGIN: Final = timedelta(minutes=15)
LATE_WINDOW: Final = timedelta(minutes=10)  # how long after its date an activity may be committed
SWEEP_EVERY: Final = timedelta(minutes=5)


class Sweep(BaseModel):
    """Where the late-activity sweep stands."""

    model_config = ConfigDict(frozen=True)

    token: str  # where the next page of the sweep is read from
    swept_at: datetime  # Marketo's time when the last pass ended
    until: datetime | None = None  # a pass under way: it sweeps activities dated before this


class PersonCursor(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str
    read_at: datetime  # when the stream last read a page: deletions older than 14 days are gone
    sweep: Sweep | None = None  # None in checkpoints written before sweeps: one starts at the next run

    @classmethod
    def parse(cls, text: str | None) -> PersonCursor | None:
        return cls.model_validate_json(text) if text else None


def _dated(activity: Mapping[str, Any]) -> datetime:
    return parse_datetime(activity["activityDate"])


def _new_value(activity: Mapping[str, Any]) -> Any:
    return next((a.get("value") for a in activity.get("attributes", []) if a.get("name") == "New Value"), None)


class PersonStream:
    def __init__(self, engine: Engine) -> None:
        self.engine, self.store = engine, engine.store
        self.mappings: dict[str, TableMapping] = {t.value: engine.mapping.table(t.value) for t in PERSON_TABLES}
        self.pipelines = {p.stream: p for t in PERSON_TABLES for p in engine.pipelines[t]}
        self._field_names: dict[int, str] = {}
        # program status changes, score changes and engagement ride on the same call when they fit (≤ 10 types)
        plan = engine.engagement
        fallback = (*ACTIVITY_TYPES, PROGRAM_STATUS) if engine.response_rules else ACTIVITY_TYPES
        self.types = plan.asked if plan is not None else fallback
        self.changes = {VALUE_CHANGE, *((plan.score_type,) if plan is not None and plan.score_type else ())}

    # position

    def begin(self) -> Checkpoint:
        """The stream's checkpoint, made at the current position when missing (its 'full copy')."""
        current = self.store.checkpoints.get(SyncObject.PERSON, M2D)
        if current is not None:
            return current
        checkpoint = Checkpoint(
            object=SyncObject.PERSON, direction=M2D, phase=Phase.INCREMENTAL, cursor=self._from_now().model_dump_json()
        )
        return self.store.checkpoints.save(checkpoint)

    def _from_now(self) -> PersonCursor:
        """Reading from now (less the clock margin), the sweep with it."""
        activities = self.engine.marketo.activities
        token = activities.paging_token(self.engine.marketo.client.server_now() - CLOCK_SKEW_MARGIN)
        swept_at = self.engine.marketo.client.server_now()
        return PersonCursor(token=token, read_at=datetime.now(UTC), sweep=Sweep(token=token, swept_at=swept_at))

    def stale(self, checkpoint: Checkpoint, now: datetime) -> bool:
        cursor = PersonCursor.parse(checkpoint.cursor)
        return cursor is not None and now - cursor.read_at > DELETIONS_KEPT

    # one page

    @staticmethod
    def token(checkpoint: Checkpoint) -> str:
        cursor = PersonCursor.parse(checkpoint.cursor)
        assert cursor is not None
        return cursor.token

    def read_page(self, token: str) -> ActivityPage:
        return next(iter(self.engine.marketo.activities.read_activities(token, self.types)))

    def copy_page(
        self, checkpoint: Checkpoint, known: set[str], page: ActivityPage
    ) -> tuple[Checkpoint, PageCounts, bool]:
        """`page`, read at the checkpoint's token, processed, and the checkpoint moved past it;
        whether that caught up."""
        cursor = PersonCursor.parse(checkpoint.cursor)
        assert cursor is not None
        counts = self.process(page.activities, known)
        moved = cursor.model_copy(update={"token": page.next_token, "read_at": datetime.now(UTC)})
        saved = self.store.checkpoints.save(checkpoint.advanced(cursor=moved.model_dump_json()))
        return saved, counts, not page.more

    # the late-activity sweep

    def sweep_due(self, checkpoint: Checkpoint) -> bool:
        cursor = PersonCursor.parse(checkpoint.cursor)
        sweep = cursor.sweep if cursor is not None else None
        return sweep is None or sweep.until is not None or self._marketo_now() - sweep.swept_at >= SWEEP_EVERY

    def sweep_page(self, checkpoint: Checkpoint, known: set[str]) -> tuple[Checkpoint, PageCounts, bool]:
        """One page of the sweep's pass (a pass starts when none is under way); whether the pass
        is done. Activities the page holds from the pass's boundary on wait for the next pass."""
        cursor = PersonCursor.parse(checkpoint.cursor)
        assert cursor is not None
        now = self._marketo_now()
        activities = self.engine.marketo.activities
        if cursor.sweep is None:  # a checkpoint from before sweeps: sweep from here on
            sweep = Sweep(token=activities.paging_token(now - LATE_WINDOW), swept_at=now)
            return self._save_sweep(checkpoint, cursor, sweep), PageCounts(), True
        until = cursor.sweep.until or now - LATE_WINDOW
        page: ActivityPage = next(iter(activities.read_activities(cursor.sweep.token, self.types)))
        due = [a for a in page.activities if _dated(a) < until]
        counts = self.process(due, known)
        counts.read = 0  # read again, not new: the run's count is the lead reader's
        if len(due) < len(page.activities) or not page.more:
            sweep = Sweep(token=activities.paging_token(until), swept_at=now)
            return self._save_sweep(checkpoint, cursor, sweep), counts, True
        sweep = Sweep(token=page.next_token, swept_at=cursor.sweep.swept_at, until=until)
        return self._save_sweep(checkpoint, cursor, sweep), counts, False

    def _save_sweep(self, checkpoint: Checkpoint, cursor: PersonCursor, sweep: Sweep) -> Checkpoint:
        moved = cursor.model_copy(update={"sweep": sweep})
        return self.store.checkpoints.save(checkpoint.advanced(cursor=moved.model_dump_json()))

    def _marketo_now(self) -> datetime:
        return self.engine.marketo.client.server_now()

    def process(self, activities: list[dict[str, Any]], known: set[str]) -> PageCounts:
        counts = PageCounts(read=len(activities))
        deleted = {int(a["leadId"]) for a in activities if a.get("activityTypeId") == DELETION}
        changes: dict[int, dict[str, Any]] = defaultdict(dict)  # person → field → newest value
        for activity in activities:
            if activity.get("activityTypeId") in self.changes and int(activity["leadId"]) not in deleted:
                name = self._field_name(activity.get("primaryAttributeValueId"))
                if name is not None:
                    changes[int(activity["leadId"])][name] = _new_value(activity)
        refs = [MarketoRef(object=PERSON_TARGET, id=str(i)) for i in deleted | set(changes)]
        links = self.store.links.get_many_by_marketo(refs) if refs else {}
        gone = [links[r] for r in refs if int(r.id) in deleted and r in links]
        self._drop(gone)
        counts.removed = len(gone)
        live = {int(r.id): link for r, link in links.items() if int(r.id) in changes and self.live(link)}
        by_table: dict[str, list[Link]] = defaultdict(list)
        for person_id, link in live.items():
            if self._echo(link, changes[person_id]):
                counts.unchanged += 1
            else:
                by_table[link.dynamics.table].append(link)
        for table, table_links in by_table.items():
            counts.add(self.merge(table, table_links, known))
        counts.add(respond(self.engine, activities))
        if self.engine.engagement is not None and self.engine.engagement.rides:
            counts.add(write_engagement(self.engine, activities))
        return counts

    # merging

    def merge(self, table: str, links: list[Link], known: set[str]) -> PageCounts:
        pipeline, mapping = self.pipelines[table], self.mappings[table]
        outcomes = self.engine.merger.merge(pipeline, mapping, [MergeItem(link) for link in links])
        return self.settle(table, links, outcomes, known)

    def settle(self, table: str, links: list[Link], outcomes: list[MergeOutcome], known: set[str]) -> PageCounts:
        counts = PageCounts()
        kept: list[Link] = []
        gone: list[Link] = []
        done: list[str] = []
        obj = SyncObject(table)
        for link, outcome in zip(links, outcomes, strict=True):
            if outcome.gone == "marketo":
                gone.append(link)
            elif outcome.failure is not None:
                counts.failed += 1
                failure = outcome.failure
                self.store.errors.record_failure(
                    obj,
                    M2D,
                    link.dynamics.id,
                    operation=failure.operation,
                    code=failure.code,
                    message=failure.message,
                    dynamics_id=link.dynamics.id,
                    marketo_id=link.marketo.id,
                    kind=failure.kind.value,
                    table=table,
                )
                known.add(link.dynamics.id)
            elif outcome.synced is not None:
                pushed = {"pushed_at": datetime.now(UTC)} if outcome.wrote_marketo else {}
                kept.append(
                    link.model_copy(update={"synced": outcome.synced, "fingerprint": outcome.fingerprint, **pushed})
                )
                counts.written += int(outcome.wrote_dynamics or outcome.wrote_marketo)
                counts.unchanged += int(not (outcome.wrote_dynamics or outcome.wrote_marketo))
                done.append(link.dynamics.id)
        self.store.links.upsert_many(kept, index=False)  # the index already names these persons
        self._drop(gone)
        self.store.errors.resolve_many(obj, M2D, [i for i in done if i in known])
        counts.removed += len(gone)
        return counts

    def retry_due(self, known: set[str]) -> PageCounts:
        counts = PageCounts()
        for table in (t.value for t in PERSON_TABLES):
            obj = SyncObject(table)
            due = [e for e in self.store.errors.due(obj) if e.direction is M2D]
            if not due:
                continue
            links = self.store.links.get_many_by_dynamics(DynamicsRef(table=table, id=e.record_id) for e in due)
            live = [link for link in links.values() if self.live(link)]
            if live:
                counts.add(self.merge(table, live, known))
            # no live link (deleted, qualified into a contact, filtered, unlinked): nothing left to retry
            settled = {link.dynamics.id for link in live}
            self.store.errors.resolve_many(obj, M2D, [e.record_id for e in due if e.record_id not in settled])
        if self.engine.response_rules:
            counts.add(retry_responses(self.engine))
        return counts

    def rebaseline(self, checkpoint: Checkpoint, known: set[str]) -> tuple[Checkpoint, PageCounts]:
        """Every linked person checked against Marketo (300 a call): the deleted ones are dropped,
        the changed ones merged; then reading resumes from now."""
        counts = PageCounts()
        for table in (t.value for t in PERSON_TABLES):
            batch: list[Link] = []
            for link in self.store.links.iter_table(table):
                if self.live(link):
                    batch.append(link)
                if len(batch) == 300:
                    counts.add(self._check(table, batch, known))
                    batch = []
            if batch:
                counts.add(self._check(table, batch, known))
        return self.store.checkpoints.save(checkpoint.advanced(cursor=self._from_now().model_dump_json())), counts

    def _check(self, table: str, links: list[Link], known: set[str]) -> PageCounts:
        mapping = self.mappings[table]
        names = ["id", *(f.marketo for f in mapping.fields)]
        found = {
            int(p["id"]): p for p in self.engine.marketo.persons.query("id", [ln.marketo.id for ln in links], names)
        }
        gone = [link for link in links if int(link.marketo.id) not in found]
        self._drop(gone)
        changed = [
            link
            for link in links
            if int(link.marketo.id) in found
            and not self._echo(link, {k: found[int(link.marketo.id)].get(k) for k in names[1:]})
        ]
        counts = self.merge(table, changed, known) if changed else PageCounts()
        counts.removed += len(gone)
        return counts

    # helpers

    def _field_name(self, field_id: Any) -> str | None:
        if field_id is None:
            return None
        if int(field_id) not in self._field_names:
            self._field_names = self.engine.marketo.persons.field_ids()  # a field made since: read again
        return self._field_names.get(int(field_id))

    @staticmethod
    def live(link: Link) -> bool:
        return not (link.deleted or link.filtered or link.qualified_into or link.pending)

    def _echo(self, link: Link, changed: Mapping[str, Any]) -> bool:
        """Every changed field that Dynamics takes from Marketo already holds what was last synced."""
        fields = {f.marketo: f for f in self.mappings[link.dynamics.table].fields if f.direction.to_dynamics}
        for name, value in changed.items():
            mapping = fields.get(name)
            if mapping is None:
                continue
            try:
                if to_dynamics(value, mapping.spec) != to_dynamics(link.synced.get(name), mapping.spec):
                    return False
            except TransformError:
                return False
        return True

    def _drop(self, links: Iterable[Link]) -> None:
        dropped = list(links)
        for link in dropped:
            self.store.links.delete(link)
            self.store.notices.note(
                PERSON_DELETED,
                SyncObject(link.dynamics.table),
                link.dynamics.id,
                {"marketo_id": link.marketo.id, "dropped_at": datetime.now(UTC).isoformat()},
            )
