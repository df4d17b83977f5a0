"""The first copy of a very large person table (contacts, leads) through Marketo's bulk import:
CSV files of up to ~9 MB instead of 300 persons a REST call (design and costs: docs/bulk-copy.md).

Three phases, each a series of moves that return at once — waiting for Marketo's jobs is the
caller's (a Durable timer, the CLI sleeping), never a sleep inside a move:

1. import: Dataverse pages (change tracking, as the REST copy reads) → decided and mapped as
   the REST copy does → rows buffered; when a file is full, each record's link is stored
   pending (its synced values and fingerprint, no Marketo id yet), the file is submitted (at most
   10 of ours open: Marketo queues 10 and imports 2), then the checkpoint moves past its pages.
   Finished jobs' failed rows go to the errors table with Marketo's reason; rows imported with a
   warning (a malformed email, which Marketo keeps) become notices the status lists.
   Rows whose email was not sent before go in a file looked up by email (an existing Marketo
   person with that email is updated: the most recently updated one, as Marketo's list import);
   rows without an email, or whose email another record already took, in a file looked up by
   the Dynamics id field (their own person).
   Re-importing either kind after a crash finds the same persons: nothing is created twice.
2. link: a bulk extract of the persons created since the copy began (id, Dynamics id, type;
   `createdAt`, the filter every subscription has), read a part at a time, gives each pending
   link its Marketo id. No REST call per person.
3. finish: a record still pending — it was matched by email to a person Marketo already had
   (created before the copy), or its row failed — loses its pending link and is due in the
   errors table, so the next run pushes it through REST (which links a matched person by email
   at one query per 300); then the object turns incremental from the delta link its reading
   ended on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.connectors.http.failures import FailureKind
from sync.connectors.marketo.bulk import FAILURE_REASON, MAX_FILE_BYTES, WARNING_REASON, csv_rows
from sync.engine.apply import Settlement, store_settlement
from sync.engine.cursor import ObjectCursor
from sync.engine.pipelines import Pipeline
from sync.engine.plan import Failure, plan_page
from sync.engine.runtime import Engine
from sync.engine.streams import StreamReader
from sync.objects import D2M
from sync.store.bulk_emails import EmailDigests, digest
from sync.store.checkpoints import Checkpoint, Phase
from sync.store.links import DynamicsRef, Link, MarketoRef
from sync.store.notices import BULK_WARNING

MAX_OPEN: Final = 10  # our jobs queued or importing at once (Marketo: 10 queued, 2 importing)
EXTRACT_WINDOW: Final = timedelta(days=31)
WINDOW_MARGIN: Final = timedelta(minutes=15)  # clock skew between us and Marketo (as the person stream's)
ATTACH_CHUNK: Final = 2_000
BY_EMAIL: Final = "email"
# A file's rows are buffered until their estimated CSV (quoting aside) reaches this: room for the
# header, the quotes and the page that passes it; a file still too large is halved (`_files`).
FILL_BYTES: Final = int(MAX_FILE_BYTES * 0.85)


class BulkFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch_id: int
    lookup: str  # "email" or the Dynamics id field
    rows: int


class BulkState(BaseModel):
    """Where a bulk copy stands: kept in the object's checkpoint cursor."""

    model_config = ConfigDict(frozen=True)

    phase: Literal["import", "link", "finish"] = "import"
    started_at: datetime
    flushes: int = 0  # files submitted (pairs: by email, by id) — also the email digests' row numbers
    open: list[BulkFile] = Field(default_factory=list)  # submitted, not settled yet, oldest first
    imported: int = 0
    failed: int = 0
    warned: int = 0  # rows imported with a warning (each one a notice)
    window: int = 0  # the link extract's window under way (31 days each from started_at)
    export_id: str | None = None
    attached: int = 0


class BulkProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    checkpoint: Checkpoint
    done: int  # rows read from Dataverse so far
    complete: bool = False
    wait_s: float = 0.0  # nothing to do before this many seconds (a job is running)


def _files(rows: list[dict[str, Any]]) -> Iterator[tuple[list[dict[str, Any]], bytes]]:
    """The rows as CSV files Marketo takes (10 MB at most): one, or halves of it while too large
    (the buffer is sized by an estimate of the CSV, quoting aside)."""
    if not rows:
        return
    data = csv_rows(rows, sorted({k for r in rows for k in r}))
    if len(data) <= MAX_FILE_BYTES or len(rows) == 1:
        yield rows, data
        return
    half = len(rows) // 2
    yield from _files(rows[:half])
    yield from _files(rows[half:])


def bulk_state(checkpoint: Checkpoint) -> BulkState | None:
    raw = ObjectCursor.parse(checkpoint.cursor).bulk
    return BulkState.model_validate(raw) if raw else None


def with_state(cursor: ObjectCursor, state: BulkState | None) -> str:
    return cursor.model_copy(update={"bulk": state.model_dump(mode="json") if state else None}).dump()


class BulkCopy:
    """The bulk copy of one person object (one pipeline: contacts or leads)."""

    def __init__(self, engine: Engine, pipeline: Pipeline) -> None:
        self.engine, self.pipeline = engine, pipeline
        self.store, self.api = engine.store, engine.marketo.bulk_persons
        self.fields = engine.mapping.person_fields
        self.reader = StreamReader(engine.dataverse)
        self.poll_s = engine.settings.sync.bulk_poll_s
        self._digests: EmailDigests | None = None
        self._known: set[str] = set()  # records with an error (the caller keeps the set)

    # the loop

    def advance(self, checkpoint: Checkpoint, known: set[str], more: Callable[[], bool]) -> Iterator[BulkProgress]:
        """Moves while there is work that needs no waiting and `more()` says so; the last one
        says how long to wait (or that the copy is complete)."""
        self._known = known
        while True:
            state = bulk_state(checkpoint)
            assert state is not None
            result = {"import": self._import, "link": self._link, "finish": self._finish}[state.phase](
                checkpoint, state, known
            )
            yield result
            checkpoint = result.checkpoint
            if result.complete or result.wait_s or not more():
                return

    # phase 1: files

    def _import(self, checkpoint: Checkpoint, state: BulkState, known: set[str]) -> BulkProgress:
        cursor = ObjectCursor.parse(checkpoint.cursor)
        stream = cursor.stream(self.pipeline.stream)
        settled = self._settle(checkpoint, state)
        if settled is not None:
            return settled
        if stream.complete and not state.open:
            moved = state.model_copy(update={"phase": "link"})
            return BulkProgress(checkpoint=self._save(checkpoint, cursor, moved), done=stream.read)
        if stream.complete or len(state.open) + 2 > MAX_OPEN:
            return BulkProgress(checkpoint=checkpoint, done=stream.read, wait_s=self.poll_s)
        return self._fill_and_submit(checkpoint, cursor, state, known)

    def _settle(self, checkpoint: Checkpoint, state: BulkState) -> BulkProgress | None:
        """The oldest open job, if it has finished: its failed rows to the errors table."""
        if not state.open:
            return None
        job = state.open[0]
        status = self.api.import_status(job.batch_id)
        if not status.done:
            return None if len(state.open) + 2 <= MAX_OPEN else self._waiting(checkpoint)
        failures = self.api.import_failures(job.batch_id) if status.failed else []
        for record_id, row in self._rows_by_record(failures):
            reason = str(row.get(FAILURE_REASON, ""))
            self._record(record_id, "bulk-import", "import", reason, FailureKind.BAD_RECORD)
        warned = self.api.import_warnings(job.batch_id) if status.warnings else []
        for record_id, row in self._rows_by_record(warned):
            reason, email = str(row.get(WARNING_REASON, "")), str(row.get("email") or "")
            detail = {"reason": reason, "email": email, "table": self.pipeline.stream}
            self.store.notices.note(BULK_WARNING, self.pipeline.object, record_id, detail)
        moved = state.model_copy(
            update={
                "open": state.open[1:],
                "imported": state.imported + status.processed,
                "failed": state.failed + len(failures),
                "warned": state.warned + len(warned),
            }
        )
        cursor = ObjectCursor.parse(checkpoint.cursor)
        saved = self._save(checkpoint, cursor, moved)
        return BulkProgress(checkpoint=saved, done=cursor.stream(self.pipeline.stream).read)

    def _rows_by_record(self, rows: list[dict[str, str]]) -> Iterator[tuple[str, dict[str, str]]]:
        """A failures or warnings file's rows with the Dynamics id each carries (files by email too)."""
        for row in rows:
            record_id = str(row.get(self.fields.id) or "").lower()
            if record_id:
                yield record_id, row

    def _waiting(self, checkpoint: Checkpoint) -> BulkProgress:
        done = ObjectCursor.parse(checkpoint.cursor).stream(self.pipeline.stream).read
        return BulkProgress(checkpoint=checkpoint, done=done, wait_s=self.poll_s)

    def _fill_and_submit(
        self, checkpoint: Checkpoint, cursor: ObjectCursor, state: BulkState, known: set[str]
    ) -> BulkProgress:
        digests = self._email_digests(state)
        by_email: list[dict[str, Any]] = []
        by_id: list[dict[str, Any]] = []
        pending: list[Link] = []
        failures: list[Failure] = []
        size = read = 0
        stream = cursor.stream(self.pipeline.stream)
        while not stream.complete and size < FILL_BYTES:
            page = self.reader.read_page(self.pipeline, stream)
            read += len(page.rows)
            refs = [self.pipeline.ref(self.pipeline.row_id(row)) for row in page.rows]
            decisions = [(ref, self.pipeline.decide(row, {})) for ref, row in zip(refs, page.rows, strict=True)]
            plan = plan_page(decisions, [], {}, dict(zip(refs, page.rows, strict=True)))
            failures += plan.failures
            for upsert in plan.upserts:
                email = str(upsert.values.get("email") or "").strip()
                if email and digest(email) not in digests:
                    digests.add(digest(email))
                    by_email.append(upsert.values)
                else:
                    by_id.append(upsert.values)
                size += sum(len(str(v)) + 1 for v in upsert.values.values())
                marketo = MarketoRef(object=self.pipeline.target.name, id="")
                pending.append(
                    Link(dynamics=upsert.ref, marketo=marketo, fingerprint=upsert.fingerprint, synced=upsert.values)
                )
            stream = page.cursor
        self.store.links.upsert_many(pending, index=False)
        store_settlement(self.store, checkpoint.object, self.pipeline, Settlement(failures=failures), known)
        opened = [*state.open]
        files = (
            [(by_email, BY_EMAIL), (by_id, self.fields.id)]
            if self.engine.mapping.id_is_lookup
            else [(by_email, BY_EMAIL)]
        )
        for rows, lookup in files:  # rows Marketo cannot look up by the Dynamics id stay pending: REST makes them
            for part, data in _files(rows):
                opened.append(BulkFile(batch_id=self.api.submit(data, lookup), lookup=lookup, rows=len(part)))
        self.store.bulk_emails.save(self.pipeline.stream, state.flushes, digests.take_new())
        moved = state.model_copy(update={"open": opened, "flushes": state.flushes + 1})
        saved = self._save(checkpoint, cursor.moved(self.pipeline.stream, stream), moved, read=read)
        return BulkProgress(checkpoint=saved, done=stream.read)

    def _email_digests(self, state: BulkState) -> EmailDigests:
        """The emails sent by email so far, this copy's and earlier person copies': what the store
        holds of files the checkpoint counts (a row saved by a crashed move is not counted)."""
        if self._digests is None:
            self._digests = self.store.bulk_emails.load(self.pipeline.stream, state.flushes)
        return self._digests

    # phase 2: links

    def _link(self, checkpoint: Checkpoint, state: BulkState, known: set[str]) -> BulkProgress:
        cursor = ObjectCursor.parse(checkpoint.cursor)
        done = cursor.stream(self.pipeline.stream).read
        start = state.started_at - WINDOW_MARGIN + EXTRACT_WINDOW * state.window
        now = datetime.now(UTC)
        if start > now + WINDOW_MARGIN:
            return BulkProgress(
                checkpoint=self._save(checkpoint, cursor, state.model_copy(update={"phase": "finish"})), done=done
            )
        if state.export_id is None:
            end = max(min(start + EXTRACT_WINDOW, now + WINDOW_MARGIN), start + timedelta(seconds=1))
            fields = ["id", self.fields.id, self.fields.type]
            export_id = self.api.start_extract(fields, "createdAt", start, end)
            return BulkProgress(
                checkpoint=self._save(checkpoint, cursor, state.model_copy(update={"export_id": export_id})),
                done=done,
                wait_s=self.poll_s,
            )
        status = self.api.extract_status(state.export_id)
        if not status.done:
            return BulkProgress(checkpoint=checkpoint, done=done, wait_s=self.poll_s)
        attached = 0
        chunk: list[tuple[DynamicsRef, str]] = []
        for row in self.api.extract_rows(status):
            record_id = str(row.get(self.fields.id) or "").lower()
            if record_id and row.get(self.fields.type) == self.pipeline.stream:
                chunk.append((self.pipeline.ref(record_id), str(row["id"])))
            if len(chunk) >= ATTACH_CHUNK:
                attached += self.store.links.attach(self.pipeline.target.name, chunk)
                chunk = []
        attached += self.store.links.attach(self.pipeline.target.name, chunk) if chunk else 0
        moved = state.model_copy(
            update={"window": state.window + 1, "export_id": None, "attached": state.attached + attached}
        )
        return BulkProgress(checkpoint=self._save(checkpoint, cursor, moved), done=done)

    # phase 3: what the import did not create goes through REST

    def _finish(self, checkpoint: Checkpoint, state: BulkState, known: set[str]) -> BulkProgress:
        cursor = ObjectCursor.parse(checkpoint.cursor)
        left = list(self.store.links.pending(self.pipeline.stream))
        for link in left:
            if link.dynamics.id not in known:
                self._record(
                    link.dynamics.id,
                    "bulk-import",
                    "not-imported",
                    "the bulk import made no person for this record (its email moved to another record's "
                    "person, the row failed, or it has no email of its own and Marketo takes no lookup by the "
                    "Dynamics id); it is pushed through REST on the next run",
                    FailureKind.TRANSIENT,
                )
        self.store.links.delete_many(left, index=False)
        if left:  # due now: the next run pushes them through REST instead of waiting out a backoff
            self.store.errors.request_retry(self.pipeline.object)
        counters = {**checkpoint.counters, "written": state.attached, "failed": state.failed + len(left)}
        incremental = cursor.model_copy(update={"fresh": False, "bulk": None}).dump()
        finished = self.store.checkpoints.save(
            checkpoint.advanced(phase=Phase.INCREMENTAL, cursor=incremental, counters=counters)
        )
        return BulkProgress(checkpoint=finished, done=cursor.stream(self.pipeline.stream).read, complete=True)

    # store

    def _record(self, record_id: str, operation: str, code: str, message: str, kind: FailureKind) -> None:
        self._known.add(record_id)
        self.store.errors.record_failure(
            self.pipeline.object,
            D2M,
            record_id,
            operation=operation,
            code=code,
            message=message,
            dynamics_id=record_id,
            kind=kind.value,
            table=self.pipeline.stream,
        )

    def _save(self, checkpoint: Checkpoint, cursor: ObjectCursor, state: BulkState, read: int = 0) -> Checkpoint:
        counters = dict(checkpoint.counters)
        counters["read"] = counters.get("read", 0) + read
        return self.store.checkpoints.save(checkpoint.advanced(cursor=with_state(cursor, state), counters=counters))
