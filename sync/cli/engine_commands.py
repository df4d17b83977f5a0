"""The CLI's sync commands: `check`, `full-copy`, `run` and `resync-field`, on the engine the
Functions use. Progress goes to stderr (bars with done / total, rate and ETA), results to stdout."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final, Never
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError
from tqdm import tqdm

from sync.cli.listener import ChangeListener
from sync.cli.schedules import QueuePoller, Schedules, TimerThreads, run_schedules
from sync.connectors.dataverse.webhook_registration import WebhookRegistration
from sync.connectors.http.failures import ConnectorError
from sync.connectors.marketo.errors import MarketoQuotaExhausted
from sync.engine.campaign_membership import add_to_campaign, remove_from_campaign
from sync.engine.changes import watched_columns
from sync.engine.check import Status, run_check
from sync.engine.drain import drain_all
from sync.engine.engagement_backfill import BackfillRefused, backfill_engagement
from sync.engine.flow_actions import FlowActionError
from sync.engine.full_copy import CopyPath, Progress, full_copy, record_total
from sync.engine.pause import paused
from sync.engine.resync import ResyncRequest, resync_page, resync_targets, resync_total
from sync.engine.run import run_once
from sync.engine.runtime import Engine
from sync.objects import DIRECTIONS, FULL_COPY_ORDER, PERSON_TABLES, SyncObject
from sync.settings import Settings
from sync.store.change_queue import ChangeQueue
from sync.store.checkpoints import CheckpointConflict
from sync.store.leases import LeaseLost
from sync.store.runs import RunOutcome, RunRecord

# What stops a command without a traceback: the service or the store failed in a way retries
# could not fix. Nothing is lost: the checkpoint stays at the last page stored.
STOPPING_FAILURES: Final = (ConnectorError, AzureError, LeaseLost, CheckpointConflict)
MARK = {Status.OK: "ok     ", Status.WARNING: "warning", Status.PROBLEM: "problem"}
LEASE = timedelta(minutes=15)


def check(settings: Settings) -> int:
    checklist = run_check(settings)
    width = max(len(line.subject) for line in checklist.lines)
    for line in checklist.lines:
        print(f"{MARK[line.status]}  {line.subject:<{width}}  {line.detail}")
        if line.fix:
            print(f"{'':9}{'':<{width}}  fix: {line.fix}")
    problems = sum(1 for line in checklist.lines if line.status is Status.PROBLEM)
    print(f"\n{'All checks passed.' if checklist.passed else f'{problems} problem(s) to fix before the sync can run.'}")
    return 0 if checklist.passed else 1


class _HeldLease:
    """The object's lease for a CLI full copy, renewed after each page (its ETag changes each time,
    so the newest one is what release needs)."""

    def __init__(self, engine: Engine, obj: SyncObject) -> None:
        lease = engine.store.leases.acquire(obj, engine.owner, LEASE)
        if lease is None:
            raise SystemExit(f"{obj.value}: another run holds the lease; try again when it has finished")
        self.engine, self.lease = engine, lease

    def renew(self) -> None:
        self.lease = self.engine.store.leases.renew(self.lease, LEASE)

    def release(self) -> None:
        self.engine.store.leases.release(self.lease)


@contextmanager
def _lease(engine: Engine, obj: SyncObject) -> Iterator[_HeldLease]:
    held = _HeldLease(engine, obj)
    try:
        yield held
    finally:
        held.release()


def _copy(engine: Engine, obj: SyncObject, again: bool, path: CopyPath) -> None:
    with (
        _lease(engine, obj) as held,
        _bar(obj.value, record_total(engine, obj)) as bar,
    ):

        def on_page(progress: Progress) -> None:
            if bar.total is not None and progress.done > bar.total:
                bar.total = progress.done  # the row count is a snapshot up to a day old
            bar.update(progress.done - bar.n)
            held.renew()

        _, totals, seconds = full_copy(engine, obj, again=again, path=path, on_page=on_page)
    rate = totals.read / seconds if seconds else 0.0
    print(
        f"{obj.value:<16} full copy done: {totals.read} read, {totals.written} written, "
        f"{totals.unchanged} unchanged, {totals.failed} failed in {seconds:.1f} s ({rate:,.0f} rows/s)"
    )


def full_copy_command(settings: Settings, objects: Sequence[SyncObject], again: bool, path: str = "auto") -> int:
    """`--path` applies to the contact and lead tables; every other object copies through REST."""
    engine = Engine.start(settings)
    try:
        for obj in objects:
            _copy(engine, obj, again, CopyPath(path) if obj in PERSON_TABLES else CopyPath.AUTO)
    finally:
        engine.close()
    return 0


def backfill_command(settings: Settings, since: datetime) -> int:
    """Engagement since `since`, through Marketo's bulk activity extract (engagement_backfill.py)."""
    engine = Engine.start(settings)
    try:
        until = engine.marketo.client.server_now()
        bar = _bar("engagement", None)
        last = None
        for progress in backfill_engagement(engine, since, until):
            bar.update(progress.extracted - bar.n)
            last = progress
        bar.close()
    except BackfillRefused as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        engine.close()
    if last is not None:
        counts = last.counts
        print(
            f"engagement since {since.isoformat(timespec='minutes')}: {last.extracted} activities extracted; "
            f"rows written {counts.written}, already there {counts.unchanged}, persons not in Dynamics "
            f"{counts.filtered}, failed {counts.failed} (in the errors table)"
        )
    return 0


def _say(record: RunRecord) -> None:
    line = (
        f"{record.object.value:<16} {record.outcome.value:<9} read {record.read}, written {record.written}, "
        f"skipped {record.skipped}, failed {record.failed}; calls: Marketo {record.marketo_calls}, "
        f"Dataverse {record.dataverse_calls}"
    )
    print(f"{line} — {record.message}" if record.message else line)


def _bar(name: str, total: int | None) -> tqdm[Never]:
    return tqdm(desc=f"{name:<16}", total=total, unit=" rows", file=sys.stderr, leave=True)


def _fire(engine: Engine, obj: SyncObject, *, timer: bool = True) -> RunRecord:
    """What an object's timer does: its full copy first when it has no checkpoint (and is not
    paused), else one incremental run (`timer` False: a one-off run, which follows no busy log)."""
    if engine.store.checkpoints.get(obj, DIRECTIONS[obj][0]) is None and obj not in paused(engine.store):
        _copy(engine, obj, False, CopyPath.AUTO)
    record = run_once(engine, obj, follow=timer)
    _say(record)
    return record


def run_command(settings: Settings, objects: Sequence[SyncObject], once: bool, listen: int | None = None) -> int:
    """`--once`: one run per object, then what the change queue holds. Without it: each object on
    its own NCRONTAB schedule, as the Functions host fires the timers, and the change queue
    drained as its queue trigger would (polled every two seconds), until interrupted. `--listen`
    serves the change routes too, so webhooks can reach a local run."""
    engine = Engine.start(settings)
    queue = ChangeQueue.open(settings.storage.connection.get_secret_value(), settings.sync.change_queue)
    try:
        if once:
            records = [_fire(engine, obj, timer=False) for obj in objects]
            _drain(engine, queue)
            return 1 if any(r.outcome is RunOutcome.FAILED for r in records) else 0
        with contextlib.ExitStack() as stack:
            if listen is not None:
                listener = stack.enter_context(ChangeListener(listen))
                print(f"change routes at {listener.url}changes/dataverse and {listener.url}changes/marketo")
            stack.enter_context(QueuePoller(lambda: _drain(engine, queue)))
            schedules = Schedules.starting(settings.sync.schedules, objects, datetime.now(UTC))
            expressions = ", ".join(f"{o.value}: {schedules.expressions[o]}" for o in objects)
            print(f"following the schedules ({expressions}) and the change queue {queue.name}")
            timers = stack.enter_context(TimerThreads(lambda obj: _fire(engine, obj)))
            run_schedules(schedules, timers.fire, lambda: datetime.now(UTC), time.sleep)
        return 0
    except KeyboardInterrupt:
        print(f"stopped at {datetime.now(UTC).isoformat(timespec='seconds')}")
        return 0
    finally:
        engine.close()


def setup_webhooks_command(settings: Settings, url: str) -> int:
    """Register (or correct) the Dataverse webhook that posts changes to `url`; idempotent."""
    key = settings.sync.dataverse_webhook_key
    if key is None:
        print(
            "set SYNC_DATAVERSE_WEBHOOK_KEY first (at least 32 characters): Dataverse sends it in the x-sync-key "
            "header and the change route checks it",
            file=sys.stderr,
        )
        return 2
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        print(
            f"--url {url!r}: give the change route's https URL, e.g. https://<app>.azurewebsites.net/api/changes/dataverse",
            file=sys.stderr,
        )
        return 2
    engine = Engine.start(settings)
    try:
        state = WebhookRegistration(engine.dataverse.client).register(
            url, key.get_secret_value(), watched_columns(engine)
        )
    finally:
        engine.close()
    for verb, names in (("created", state.created), ("updated", state.updated), ("deleted", state.deleted)):
        for name in names:
            print(f"{verb:<8} {name}")
    if state.unsupported:
        print(f"no steps: Dataverse takes none on {', '.join(state.unsupported)} (the timers carry their changes)")
    print(f"webhook {'registered' if state.changed else 'already registered'}: Dataverse posts changes to {url}")
    return 0


def remove_webhooks_command(settings: Settings) -> int:
    engine = Engine.start(settings)
    try:
        state = WebhookRegistration(engine.dataverse.client).unregister()
    finally:
        engine.close()
    for name in state.deleted:
        print(f"deleted  {name}")
    print("webhook removed: Dynamics changes cross with the timers" if state.deleted else "no webhook was registered")
    return 0


def campaign_command(settings: Settings, action: str, person_id: int, campaign_id: str) -> int:
    """`campaign add|remove PERSON CAMPAIGN`: what the webhook routes do, from the command line."""
    engine = Engine.start(settings)
    try:
        act = add_to_campaign if action == "add" else remove_from_campaign
        try:
            change = act(engine, person_id, campaign_id)
        except FlowActionError as error:
            print(error, file=sys.stderr)
            return 2
    finally:
        engine.close()
    where = f"{change.record.table} {change.record.id}"
    print(f"person {person_id} ({where}), campaign {change.campaign_id}: {change.done}")
    return 0


def _drain(engine: Engine, queue: ChangeQueue) -> None:
    for result in drain_all(engine, queue):
        print(f"{'changes':<16} {result.summary()}")


def resync_command(settings: Settings, request: ResyncRequest) -> int:
    """Push mapped fields to Marketo for every linked record of the object, or for those in the
    request's window (Quick Sync), page by page."""
    engine = Engine.start(settings)
    try:
        _, fields = resync_targets(engine, request)
        total = resync_total(engine, request)
        read = written = failed = 0
        cursor: str | None = None
        with _bar(f"{request.object.value}.{'+'.join(f.marketo for f in fields)}", total) as bar:
            while True:
                page = resync_page(engine, request, cursor)
                read, written, failed = read + page.read, written + page.written, failed + page.failed
                if bar.total is not None and read > bar.total:
                    bar.total = read
                bar.update(page.read)
                if page.cursor is None:
                    break
                cursor = page.cursor
        visited = "links visited" if request.window() is None else "records in the window read"
        label = request.label([f.marketo for f in fields])
        print(f"{label}: {read} {visited}, {written} written, {failed} failed")
        return 1 if failed else 0
    finally:
        engine.close()


def stopped_by(error: BaseException) -> str:
    """What the admin reads when a command stops on a failure: what, why, and what to do."""
    if isinstance(error, MarketoQuotaExhausted):
        when = error.resets_at.astimezone(UTC).isoformat(timespec="minutes")
        return (
            f"stopped: Marketo's daily API quota is spent ({error}). It resets at {when} UTC; "
            "run the same command again then: it resumes where it stopped, nothing is lost."
        )
    if isinstance(error, ConnectorError):
        what = f"{error} (failure kind: {error.kind.value})"
    elif isinstance(error, AzureError):
        what = f"Table Storage could not be reached or refused the call ({type(error).__name__})"
    else:
        what = str(error)
    return f"stopped: {what}. The checkpoint stays at the last page stored: run the command again to resume."


def objects_of(name: SyncObject | None) -> list[SyncObject]:
    return [name] if name is not None else list(FULL_COPY_ORDER)
