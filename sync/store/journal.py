"""The page journal: what a page written to Marketo must leave in the store, kept durably before
the checkpoint moves past the page and before the next page is written.

Why: a pipelined copy stores page k's links while page k+1 is written to Marketo. Without the
journal, a crash then repeats both pages' Marketo calls (page k's links were not all stored).
With it, the checkpoint moves past page k as soon as its settlement is journaled (one
transaction of a few compressed rows), the links follow on the settling thread, and a restart
first stores a journaled settlement that was not marked stored — no Marketo call — so a crash
repeats at most the page being written.

Layout: PartitionKey = "<object>~<stream>"; RowKey "head" (the cursors the page starts and
ends at, the part count, stored or not) and "part-<n>" (zlib-compressed JSON in 60 KB binary
properties, up to 10 a row). One entity group transaction replaces the whole journal: a reader
never sees parts of two pages. A settlement too large for one transaction (a 3,000-person page
is a few hundred KB compressed) is not journaled; that page is stored before the checkpoint
moves. Order per page: journal → checkpoint → (settling thread) links → mark stored.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from sync.objects import SyncObject
from sync.store.keys import escape_key
from sync.store.tables import StoreTables, Table
from sync.store.transactions import Upsert, submit

CHUNK: Final = 60 * 1024  # under Table Storage's 64 KiB per binary property
CHUNKS_PER_ROW: Final = 10  # 600 KB a row: 800 KB as the base64 the service counts, under 1 MiB
MAX_PACKED: Final = 2_800_000  # the transaction's 4 MiB body holds this much, base64-encoded


@dataclass(frozen=True)
class JournaledPage:
    before: str  # the object's cursor the page was read from
    after: str  # the object's cursor after the page (the checkpoint's, once moved)
    payload: bytes


class PageJournal:
    def __init__(self, tables: StoreTables) -> None:
        self._tables = tables
        self._table = tables.client(Table.JOURNAL)

    def write(self, obj: SyncObject, stream: str, before: str, after: str, payload: bytes) -> bool:
        """Replace the stream's journal with this page's settlement (atomically). False, writing
        nothing, when it does not fit one transaction: the caller stores the page before moving on."""
        packed = zlib.compress(payload, 1)
        if len(packed) > MAX_PACKED:
            return False
        chunks = [packed[i : i + CHUNK] for i in range(0, len(packed), CHUNK)] or [b""]
        rows = [chunks[i : i + CHUNKS_PER_ROW] for i in range(0, len(chunks), CHUNKS_PER_ROW)]
        pk = _partition(obj, stream)
        operations = [
            Upsert({"PartitionKey": pk, "RowKey": f"part-{n}", **{f"c{i}": c for i, c in enumerate(row)}})
            for n, row in enumerate(rows)
        ]
        head: dict[str, Any] = {"PartitionKey": pk, "RowKey": "head", "before": before, "after": after}
        head.update(parts=len(rows), stored=False)
        submit(self._table, [*operations, Upsert(head)])
        self._tables.wrote(Table.JOURNAL, len(operations) + 1)
        return True

    def pending(self, obj: SyncObject, stream: str) -> JournaledPage | None:
        """The journaled page not yet marked stored, if any."""
        pk = _partition(obj, stream)
        try:
            head = self._table.get_entity(pk, "head")
        except ResourceNotFoundError:
            return None
        if head.get("stored"):
            return None
        parts = {e["RowKey"]: e for e in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": pk})}
        packed = b"".join(
            bytes(parts[f"part-{n}"][f"c{i}"])
            for n in range(int(head["parts"]))
            for i in range(CHUNKS_PER_ROW)
            if f"c{i}" in parts[f"part-{n}"]
        )
        return JournaledPage(str(head["before"]), str(head["after"]), zlib.decompress(packed))

    def mark_stored(self, obj: SyncObject, stream: str) -> None:
        """The settlement is in the store: a restart has nothing to redo. Called before the next
        page of the stream is journaled (the caller's order), so it never marks a newer page."""
        entity = {"PartitionKey": _partition(obj, stream), "RowKey": "head", "stored": True}
        self._table.update_entity(entity, mode=UpdateMode.MERGE, match_condition=MatchConditions.Unconditionally)
        self._tables.wrote(Table.JOURNAL)


def _partition(obj: SyncObject, stream: str) -> str:
    return f"{escape_key(obj)}~{escape_key(stream)}"
