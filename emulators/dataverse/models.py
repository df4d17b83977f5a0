"""The organisation's state: rows per table, the global row version, the change log that delta
queries read, and an undo log that makes a $batch change set atomic."""

from __future__ import annotations

import bisect
import dataclasses
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulators.common.clock import EmulatorClock
from emulators.dataverse.catalogue import TableDef

Row = dict[str, Any]


class DataverseError(Exception):
    """An error the Web API answers with: HTTP status, hex code, message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def not_found(table: str, record_id: str) -> DataverseError:
    return DataverseError(404, "0x80040217", f"{table} With Id = {record_id} Does Not Exist")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Change:
    version: int
    record_id: str
    deleted: bool


class TableData:
    def __init__(self, definition: TableDef) -> None:
        self.definition = definition
        self.rows: dict[str, Row] = {}
        self.order: list[str] = []  # every id ever created, in creation order: a cursor that deletions cannot shift
        self._placed: set[str] = set()
        self.log: list[Change] = []
        self._log_versions: list[int] = []
        self.latest: dict[str, int] = {}
        # alternate key columns → normalized values → record id, built on the first lookup by that key
        self.key_index: dict[tuple[str, ...], dict[tuple[str, ...], str]] = {}

    @staticmethod
    def key_values(row: Row, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(row.get(n) or "").casefold() for n in names)

    def find_by_key(self, names: tuple[str, ...], values: tuple[str, ...]) -> str | None:
        index = self.key_index.get(names)
        if index is None:
            index = self.key_index[names] = {self.key_values(r, names): i for i, r in self.rows.items()}
        return index.get(values)

    def reindex(self, record_id: str, before: Row | None, after: Row | None) -> None:
        for names, index in self.key_index.items():
            if before is not None:
                index.pop(self.key_values(before, names), None)
            if after is not None:
                index[self.key_values(after, names)] = record_id

    def record(self, change: Change) -> None:
        self.log.append(change)
        self._log_versions.append(change.version)
        self.latest[change.record_id] = change.version

    def place(self, record_id: str) -> None:
        if record_id not in self._placed:
            self._placed.add(record_id)
            self.order.append(record_id)

    def page(self, position: int, size: int) -> tuple[list[Row], int]:
        """Up to `size` live rows from `position` in creation order, and the position after them."""
        out: list[Row] = []
        while position < len(self.order) and len(out) < size:
            row = self.rows.get(self.order[position])
            if row is not None:
                out.append(row)
            position += 1
        return out, position

    def change_page(
        self, after: int, until: int, position: int | None, size: int, repeats: bool = False
    ) -> tuple[list[Row | str], int, bool]:
        """Up to `size` changes in (after, until], in version order from a position in the change
        log (None: the span's start): a changed row as it is now, or a deleted row's id; the
        position after them, and whether the span is done. A position in the log, not an offset
        in the list, so a row changed while the pages are read cannot shift the pages after it
        (it drops out of this span and comes in the next). With `repeats`, a row changed twice in
        the span comes twice, as the emulator's change-tracking setting can make it."""
        at = bisect.bisect_right(self._log_versions, after) if position is None else position
        out: list[Row | str] = []
        while at < len(self.log) and len(out) < size:
            change = self.log[at]
            if change.version > until:
                return out, at, True
            at += 1
            if not repeats and self.latest.get(change.record_id) != change.version:
                continue  # a later change of the same record stands for it
            row = self.rows.get(change.record_id)
            if change.deleted and row is None:
                out.append(change.record_id)
            elif not change.deleted and row is not None and (repeats or row["versionnumber"] == change.version):
                out.append(row)
        done = at >= len(self.log) or self.log[at].version > until
        return out, at, done


@dataclass(frozen=True)
class Committed:
    """A write that committed: what the event pipeline's post-operation steps see."""

    message: str  # Create, Update, Delete
    table: str
    record_id: str
    attributes: Row  # the columns the write set (Create: every column it stored); empty for Delete
    caller: str | None


class Organization:
    """The org's rows. Every write is also an event: `on_commit` gets the writes of a transaction
    once it commits (each write alone outside one), never those of a transaction rolled back."""

    def __init__(self, clock: EmulatorClock, tables: list[TableDef]) -> None:
        self.clock = clock
        self.tables = {t.logical_name: TableData(t) for t in tables}
        self.by_entity_set = {t.entity_set: t.logical_name for t in tables}
        self.version = 100_000
        self._undo: list[tuple[TableData, str, Row | None, int | None]] | None = None
        self._pending: list[Committed] = []
        self.on_commit: Callable[[list[Committed]], None] | None = None
        self.key_jobs: dict[str, list[Any]] = {}  # table → its alternate keys made through the API (KeyJob)

    def add_table(self, definition: TableDef) -> None:
        """A table a customizer made (metadata_writes.py)."""
        if definition.logical_name in self.tables or definition.entity_set in self.by_entity_set:
            raise DataverseError(400, "0x80040203", f"A table named '{definition.logical_name}' already exists.")
        self.tables[definition.logical_name] = TableData(definition)
        self.by_entity_set[definition.entity_set] = definition.logical_name

    def alternate_keys(self, table: str, now: float) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
        """(keys usable now, keys whose index is still being built)."""
        jobs = self.key_jobs.get(table, [])
        active = [*self.tables[table].definition.keys, *(j.attributes for j in jobs if j.status(now) == "Active")]
        return active, [j.attributes for j in jobs if j.status(now) != "Active"]

    def table(self, logical_name: str) -> TableData:
        return self.tables[logical_name]

    def remove_column(self, table: str, column: str) -> bool:
        """A column deleted by a customizer: gone from the table's metadata and its rows."""
        data = self.tables[table]
        if data.definition.column(column) is None:
            return False
        kept = tuple(c for c in data.definition.columns if c.name != column)
        data.definition = dataclasses.replace(data.definition, columns=kept, columns_by_name={})
        for row in data.rows.values():
            row.pop(column, None)
        return True

    def next_version(self) -> int:
        self.version += 1
        return self.version

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside succeed together or none stays (a change set, a bulk action). Nested
        transactions are savepoints: an inner failure undoes the inner writes, then propagates."""
        outermost = self._undo is None
        if outermost:
            self._undo = []
        assert self._undo is not None
        savepoint, events = len(self._undo), len(self._pending)
        try:
            yield
        except BaseException:
            del self._pending[events:]
            undone = self._undo[savepoint:]
            del self._undo[savepoint:]
            for data, record_id, previous, latest in reversed(undone):
                data.key_index.clear()  # rebuilt on the next lookup by key
                if previous is None:
                    data.rows.pop(record_id, None)
                else:
                    data.rows[record_id] = previous
                if latest is None:  # the change log's newest entry for the record is its last real one again
                    data.latest.pop(record_id, None)
                else:
                    data.latest[record_id] = latest
            raise
        finally:
            if outermost:
                self._undo = None
        if outermost:
            committed, self._pending = self._pending, []
            self._announce(committed)

    def _event(self, event: Committed) -> None:
        if self._undo is not None:
            self._pending.append(event)
        else:
            self._announce([event])

    def _announce(self, events: list[Committed]) -> None:
        if events and self.on_commit is not None:
            self.on_commit(events)

    def _remember(self, data: TableData, record_id: str) -> None:
        if self._undo is not None:
            previous = data.rows.get(record_id)
            self._undo.append(
                (data, record_id, None if previous is None else dict(previous), data.latest.get(record_id))
            )

    def _stamp(self, data: TableData, row: Row, caller: str | None) -> None:
        now = iso(self.clock.now_datetime())
        version = self.next_version()
        row["modifiedon"] = now
        row["versionnumber"] = version
        if caller and data.definition.column("modifiedby"):
            row["modifiedby"] = ("systemuser", caller)
        names = ("firstname", "lastname")
        if data.definition.column("fullname") and any(n in row for n in names):
            row["fullname"] = " ".join(str(row[n]) for n in names if row.get(n)) or None
        data.record(Change(version, row[data.definition.primary_id], False))

    def create(self, table: str, values: Row, caller: str | None, record_id: str | None = None) -> Row:
        data = self.tables[table]
        record_id = (record_id or str(uuid.uuid4())).lower()
        if record_id in data.rows:
            raise DataverseError(412, "0x80040237", "A record with matching key values already exists.")
        self._remember(data, record_id)
        row: Row = {data.definition.primary_id: record_id, **values}
        row["createdon"] = iso(self.clock.now_datetime())
        if caller and data.definition.column("createdby"):
            row["createdby"] = ("systemuser", caller)
        for column, default in (("statecode", 0), ("statuscode", 1)):
            if data.definition.column(column) and row.get(column) is None:
                row[column] = default
        if data.definition.column("ownerid") and row.get("ownerid") is None and caller:
            row["ownerid"] = ("systemuser", caller)
        data.rows[record_id] = row
        data.reindex(record_id, None, row)
        data.place(record_id)
        self._stamp(data, row, caller)
        self._event(Committed("Create", table, record_id, dict(row), caller))
        return row

    def update(self, table: str, record_id: str, values: Row, caller: str | None) -> Row:
        data = self.tables[table]
        row = data.rows.get(record_id.lower())
        if row is None:
            raise not_found(table, record_id)
        self._remember(data, record_id.lower())
        before = dict(row) if data.key_index else None
        row.update(values)
        if before is not None:
            data.reindex(record_id.lower(), before, row)
        self._stamp(data, row, caller)
        self._event(Committed("Update", table, record_id.lower(), dict(values), caller))
        return row

    def delete(self, table: str, record_id: str) -> None:
        data = self.tables[table]
        if record_id.lower() not in data.rows:
            raise not_found(table, record_id)
        self._remember(data, record_id.lower())
        data.reindex(record_id.lower(), data.rows.pop(record_id.lower()), None)
        data.record(Change(self.next_version(), record_id.lower(), True))
        self._event(Committed("Delete", table, record_id.lower(), {}, None))

    def get(self, table: str, record_id: str) -> Row | None:
        return self.tables[table].rows.get(record_id.lower())
