"""One incremental run of one object: what the timer (or `python -m sync run --once`) does.

take the object's lease → retry the failed records that are due → for each stream, pages
after its checkpoint until caught up or the time budget is spent → release the lease and
record the run. A run never overlaps another of the same object (the lease), does nothing for
an object still in its full copy (and says so), and fails only on systemic faults (auth,
config, quota, outage), leaving the checkpoint where the last settled page put it.

A quiet run reads one page per stream (one Dataverse call per table) and writes nothing.
An expired delta link re-baselines the stream: every row is read again, only what differs
from the stored fingerprints is written, and deletions made meanwhile are found by comparing
the links with the table's ids. Tables without change tracking are reconciled that way too,
every `RECONCILE_EVERY_S`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from azure.core.exceptions import AzureError

from sync.connectors.dataverse.errors import ChangeTokenExpired
from sync.connectors.http.deadline import Deadline, within
from sync.connectors.http.failures import ConnectorError
from sync.connectors.marketo.errors import PagingTokenRefused
from sync.connectors.marketo.lanes import Lane, in_lane
from sync.engine.apply import PageCounts
from sync.engine.changes import ChangeResult, sync_held
from sync.engine.cursor import ObjectCursor, StreamCursor
from sync.engine.engagement_stream import EngagementStream
from sync.engine.engagement_writes import retry_engagement
from sync.engine.pause import paused
from sync.engine.person_recovery import recover_person_pages
from sync.engine.person_stream import PersonStream
from sync.engine.pipelines import Pipeline
from sync.engine.read_ahead import ReadAhead
from sync.engine.run_log import RunLog, failure_kind
from sync.engine.runtime import Engine
from sync.engine.streams import StreamReader, reconcile_due
from sync.objects import D2M, M2D, PERSON_TABLES, SyncObject
from sync.settings import FUNCTION_TIMEOUT_S
from sync.store.checkpoints import Checkpoint, CheckpointConflict, Phase
from sync.store.leases import Lease, LeaseLost
from sync.store.runs import RunOutcome, RunRecord

RECONCILE_EVERY_S: Final = 6 * 3600.0
SAFETY_S: Final = 30.0  # between the hard deadline and the function timeout
FOLLOW_PAGES: Final = 2  # a pass of this many activity pages or more: the log is busy, read on
FOLLOW_PAUSE_S: Final = 3.0
FOLLOW_FOR_S: Final = 50.0  # a little under the default one-minute timer period
follow_pause: Callable[[float], None] = time.sleep  # between passes over a busy log (tests step it)


class _Run:
    def __init__(self, engine: Engine, obj: SyncObject, budget_s: float, follow: bool = True) -> None:
        self.engine, self.obj, self.store = engine, obj, engine.store
        self.started = time.monotonic()
        self.budget_s = budget_s
        hard = min(budget_s + engine.settings.marketo.call_deadline_s, FUNCTION_TIMEOUT_S - SAFETY_S)
        self.deadline = Deadline.after(hard)
        self.lease_for = timedelta(seconds=hard + SAFETY_S)
        self.copier = engine.copier()
        self.counts = PageCounts()
        self.notes: list[str] = []
        self.caught_up = True
        self.lease: Lease | None = None  # the newest: each renewal changes its ETag
        self.pages = 0
        self.handed = 0  # changes taken over from webhook drains
        self.follow_log = follow  # a busy activity log is followed until the next timer (_log_busy)

    def may_start_page(self) -> bool:
        """Within the budget; and always the first page, so that every run makes progress."""
        self.pages += 1
        return self.pages == 1 or time.monotonic() - self.started < self.budget_s

    def execute(self, checkpoint: Checkpoint) -> None:
        with within(self.deadline):
            self.follow(checkpoint)
            self.take_handover()  # what a drain handed over after the last page
        if self.handed:
            self.notes.append(f"{self.handed} change(s) a webhook announced were synced between pages")

    def follow(self, checkpoint: Checkpoint) -> None:
        if self.obj is SyncObject.PERSON:
            self.follow_persons(checkpoint)
        elif self.obj is SyncObject.ENGAGEMENT:
            self.follow_engagement(checkpoint)
        else:
            known = self.store.errors.record_ids(self.obj, D2M)
            for pipeline in self.engine.pipelines[self.obj]:  # a page a crash left journaled, unstored
                checkpoint = self.copier.recover(checkpoint, pipeline, known)
            self.retry_due(known)
            for pipeline in self.engine.pipelines[self.obj]:
                checkpoint = self.catch_up(checkpoint, pipeline, known)

    def take_handover(self) -> None:
        """Changes a webhook's drain handed over because this run held the lease (handover.py):
        synced now, so they wait for a page, not for the run."""
        handed = self.store.handover.take(self.obj)
        if handed is None:
            return
        self.counts.add(sync_held(self.engine, self.obj, handed.refs, ChangeResult(), recover=False))
        self.store.handover.settle(handed)
        self.handed += len(handed.refs)

    def follow_persons(self, checkpoint: Checkpoint) -> None:
        """Marketo → Dynamics: the links a crashed lead or contact run left journaled, failed
        merges due again, a re-baseline if deletions may have been missed, then activity pages
        until caught up or out of time; and, while the log is busy, on (`_log_busy`)."""
        recover_person_pages(self.engine)
        stream = PersonStream(self.engine)
        known = {i for table in PERSON_TABLES for i in self.store.errors.record_ids(table, M2D)}
        self.counts.add(stream.retry_due(known))
        if stream.stale(checkpoint, datetime.now(UTC)):
            checkpoint = self._recheck_persons(stream, checkpoint, known, "was last read more than 14 days ago")
        while True:
            checkpoint, pages = self._person_pass(stream, checkpoint, known)
            if pages is None:
                self.caught_up = False
                return
            if not self._log_busy(pages):
                self.sweep_late_activities(stream, checkpoint, known)
                return
            follow_pause(FOLLOW_PAUSE_S)
            self._between_pages()

    def _person_pass(
        self, stream: PersonStream, checkpoint: Checkpoint, known: set[str]
    ) -> tuple[Checkpoint, int | None]:
        """Activity pages until caught up (and how many), or None when the budget ends first;
        read ahead of the one applied (read_ahead.py), so the stream reads the log as fast as
        Marketo answers while it merges."""
        pages = 0
        ahead = ReadAhead(stream.read_page, stream.token(checkpoint))
        try:
            while self.may_start_page():
                try:
                    checkpoint, counts, caught_up = stream.copy_page(checkpoint, known, ahead.next())
                except PagingTokenRefused:
                    ahead.close()  # read from the refused token: nothing to keep
                    checkpoint = self._recheck_persons(stream, checkpoint, known, "is no longer accepted by Marketo")
                    ahead = ReadAhead(stream.read_page, stream.token(checkpoint))
                    continue
                pages += 1
                self.counts.add(counts)
                self._between_pages()
                if caught_up:
                    return checkpoint, pages
            return checkpoint, None
        finally:
            ahead.close()

    def follow_engagement(self, checkpoint: Checkpoint) -> None:
        """Rows Dynamics refused, due again; then engagement's own stream, page by page, within
        the run's time and the day's engagement budget (unless it rides on the person stream)."""
        plan = self.engine.engagement
        self.counts.add(retry_engagement(self.engine))
        why = plan.missing() if plan is not None else "engagement is off"
        if plan is None or why is not None:
            self.notes.append(f"engagement is not written to the timeline: {why}")
            return
        if plan.rides:
            self.notes.append("engagement rides on the person stream's call (no Marketo call of its own)")
            return
        stream = EngagementStream(self.engine)
        while self.may_start_page():
            if stream.budget_left(checkpoint) <= 0:
                budget = self.engine.settings.marketo.engagement_budget
                self.notes.append(
                    f"engagement's daily budget of {budget} Marketo calls is spent (SYNC_ENGAGEMENT_DAILY_CALLS); "
                    "it reads on after midnight US Central, and the record sync goes on meanwhile"
                )
                return
            try:
                checkpoint, counts, caught_up = stream.read_page(checkpoint)
            except PagingTokenRefused:
                checkpoint = stream.restart(checkpoint)
                self.notes.append("engagement's paging token was refused: reading on from now")
                continue
            self.counts.add(counts)
            self._between_pages()
            if caught_up:
                return
        self.caught_up = False

    def _log_busy(self, pages: int) -> bool:
        """Whether to read on after catching up. Marketo scans 300 activities of every type per
        call, so a log filling fast (a copy's new persons, a mass update, a send) costs the stream
        a call per 300 whoever logged them; a run that caught up and ended would leave a minute of
        them for the next, and a marketer's edit behind them would wait that minute and then the
        reading. So while a pass needs `FOLLOW_PAGES` pages or more (over 300 activities since the
        last one), the run reads on, a pass every `FOLLOW_PAUSE_S`, until `FOLLOW_FOR_S` after it
        started (the next one-minute timer takes over). Such a log fills a page between passes,
        so following costs at most the last, part-filled page of each pass beyond what the stream
        pays anyway; a pass of one page ends it, and a quiet log ends the run after its first
        pass, as before."""
        elapsed = time.monotonic() - self.started
        return self.follow_log and pages >= FOLLOW_PAGES and elapsed + FOLLOW_PAUSE_S < min(FOLLOW_FOR_S, self.budget_s)

    def sweep_late_activities(self, stream: PersonStream, checkpoint: Checkpoint, known: set[str]) -> None:
        """Once caught up, when a sweep is due: its pass, page by page, within the time budget."""
        if not stream.sweep_due(checkpoint):
            return
        swept = PageCounts()
        done = False
        while not done and self.may_start_page():
            try:
                checkpoint, counts, done = stream.sweep_page(checkpoint, known)
            except PagingTokenRefused:
                checkpoint = self._recheck_persons(stream, checkpoint, known, "is no longer accepted by Marketo")
                return
            swept.add(counts)
            self._between_pages()
        self.counts.add(swept)
        if swept.written or swept.removed:
            self.notes.append(
                f"the late-activity sweep found {swept.written} change(s) and {swept.removed} deletion(s) "
                "committed in Marketo after the stream had passed their date"
            )

    def _between_pages(self) -> None:
        if self.lease is not None:
            self.lease = self.store.leases.renew(self.lease, self.lease_for)
        self.take_handover()

    def _recheck_persons(self, stream: PersonStream, checkpoint: Checkpoint, known: set[str], why: str) -> Checkpoint:
        checkpoint, counts = stream.rebaseline(checkpoint, known)
        self.counts.add(counts)
        self.notes.append(
            f"the paging token {why}: every linked person was checked ({counts.removed} deletion(s) found, "
            f"{counts.written} merged) before reading on from now"
        )
        return checkpoint

    def retry_due(self, known: set[str]) -> None:
        due: dict[str, list[str]] = defaultdict(list)
        for error in self.store.errors.due(self.obj):
            if error.direction is D2M and error.table:
                due[error.table].append(error.record_id)
        for pipeline in self.engine.pipelines[self.obj]:
            ids = due.get(pipeline.stream)
            if not ids:
                continue
            self.counts.add(self.copier.push_by_ids(self.obj, pipeline, ids, known))
            self.notes.append(f"retried {len(ids)} failed {pipeline.stream} record(s)")

    def catch_up(self, checkpoint: Checkpoint, pipeline: Pipeline, known: set[str]) -> Checkpoint:
        while True:
            if not self.may_start_page():
                self.caught_up = False
                return checkpoint
            try:
                result = self.copier.copy_page(checkpoint, pipeline, known_errors=known)
            except ChangeTokenExpired:
                checkpoint = self._rebaseline(checkpoint, pipeline)
                continue
            checkpoint = result.checkpoint
            self.counts.add(result.counts)
            self._between_pages()
            if result.caught_up:
                break
        return self._reconcile_if_due(checkpoint, pipeline, known)

    def _rebaseline(self, checkpoint: Checkpoint, pipeline: Pipeline) -> Checkpoint:
        cursor = ObjectCursor.parse(checkpoint.cursor)
        restart = StreamCursor(mode=cursor.stream(pipeline.stream).mode, rebaseline=True)
        self.notes.append(
            f"{pipeline.stream}: the delta link had expired; re-baselining (every row read again, only what "
            "differs from the last sync written, deletions found by reconciling ids)"
        )
        return self.store.checkpoints.save(checkpoint.advanced(cursor=cursor.moved(pipeline.stream, restart).dump()))

    def _reconcile_if_due(self, checkpoint: Checkpoint, pipeline: Pipeline, known: set[str]) -> Checkpoint:
        cursor = ObjectCursor.parse(checkpoint.cursor)
        stream = cursor.stream(pipeline.stream)
        now = datetime.now(UTC)
        if not (stream.rebaseline and stream.complete) and not reconcile_due(stream, now, RECONCILE_EVERY_S):
            return checkpoint
        present = StreamReader(self.engine.dataverse).all_ids(pipeline)
        gone = [
            link.dynamics.id
            for link in self.store.links.iter_table(pipeline.stream)
            if not link.deleted and link.dynamics.id not in present
        ]
        if gone:
            prepared = self.copier.prepare(self.obj, pipeline, [], gone, lookups=True)
            self.counts.add(self.copier.settle(self.copier.write(prepared), known))
            self.notes.append(f"{pipeline.stream}: {len(gone)} deletion(s) found by reconciling ids")
        settled = stream.model_copy(update={"rebaseline": False, "reconciled_at": now})
        return self.store.checkpoints.save(checkpoint.advanced(cursor=cursor.moved(pipeline.stream, settled).dump()))


def run_once(engine: Engine, obj: SyncObject, *, budget_s: float | None = None, follow: bool = True) -> RunRecord:
    """One incremental run of `obj`; returns (and stores) its run record. `follow`: a timer's run
    follows a busy activity log until the next timer would start; a one-off run (`run --once`),
    with no timer after it, catches up and ends."""
    store = engine.store
    log = RunLog.begin(engine, obj)
    run = _Run(engine, obj, budget_s or engine.settings.sync.run_budget_s, follow)
    run.lease = store.leases.acquire(obj, engine.owner, run.lease_for)
    if run.lease is None:
        holder = store.leases.current(obj)
        until = f" until {holder.expires_at.isoformat()}" if holder else ""
        return log.finish(RunOutcome.SKIPPED, f"another run holds the lease ({holder.owner if holder else '?'}{until})")
    try:
        since = paused(store).get(obj)
        if since is not None:
            return log.finish(RunOutcome.SKIPPED, f"paused since {since.isoformat(timespec='seconds')}")
        checkpoint = store.checkpoints.get(obj, log.record.direction)
        if checkpoint is None:
            return log.finish(RunOutcome.SKIPPED, "no full copy yet: start one (python -m sync full-copy)")
        if checkpoint.phase is Phase.FULL_COPY:
            done = ObjectCursor.parse(checkpoint.cursor).read
            return log.finish(RunOutcome.SKIPPED, f"still in its full copy ({done} rows copied so far)")
        log.started()
        with in_lane(Lane.INCREMENTAL, obj.value):  # before any copy's calls; objects take turns
            run.execute(checkpoint)
        outcome, kind = RunOutcome.SUCCEEDED, ""
        message = "caught up" if run.caught_up else "stopped at the time budget; the next run continues"
    except (ConnectorError, LeaseLost, CheckpointConflict, PermissionError, AzureError) as error:
        outcome, message = RunOutcome.FAILED, str(error)
        kind = failure_kind(error)
    finally:
        store.leases.release(run.lease)
    log.measure(run.counts, kind)
    return log.finish(outcome, "; ".join([message, *run.notes]))
