"""The emails a bulk first copy has sent to Marketo looked up by email, as 8-byte digests.

Why: a bulk import looks persons up by one field for the whole file. By email is how a first
copy links an existing, unlinked Marketo person instead of duplicating it (behaviour §4); but a
second Dynamics record with an email already sent (another contact, or a lead after the
contacts) must not land on that person — it becomes its own person, so it goes in a file looked
up by the Dynamics id. This set is how a later page, or the lead copy after the contacts, knows.

Layout: PartitionKey = the copy ("persons"), RowKey = "<table>~<file number>"; the digests of one file
(the blake2b of the case-folded email, 8 bytes: a collision among 10 million emails has odds near
10⁻⁶) in 60 KB binary properties, up to 15 a row (~115,000 digests a file, more than a 9 MB file
holds). Written before the file is submitted, keyed by its number, so a file repeated after a
crash rewrites its own row. 10 million digests are 80 MB in memory (numpy, sorted), read once
per step.
"""

from __future__ import annotations

import hashlib
from typing import Final

import numpy as np

from sync.store.tables import StoreTables, Table
from sync.store.transactions import Delete, submit

COPY: Final = "persons"
CHUNK: Final = 60 * 1024
CHUNKS_PER_ROW: Final = 15


def digest(email: str) -> int:
    return int.from_bytes(hashlib.blake2b(email.strip().casefold().encode(), digest_size=8).digest(), "little")


class EmailDigests:
    """A sorted set of digests (numpy) plus those added since the last file was taken."""

    def __init__(self, values: np.ndarray | None = None) -> None:
        self._sorted = np.unique(values) if values is not None else np.empty(0, dtype=np.uint64)
        self._added: set[int] = set()

    def __contains__(self, value: int) -> bool:
        if value in self._added:
            return True
        at = int(np.searchsorted(self._sorted, np.uint64(value)))
        return at < len(self._sorted) and int(self._sorted[at]) == value

    def add(self, value: int) -> None:
        self._added.add(value)

    def take_new(self) -> np.ndarray:
        """The digests added since the last call (one file's), merged into the sorted set."""
        new = np.fromiter(self._added, dtype=np.uint64, count=len(self._added))
        self._sorted = np.union1d(self._sorted, new)
        self._added = set()
        return new

    def __len__(self) -> int:
        return len(self._sorted) + len(self._added)


class BulkEmailStore:
    def __init__(self, tables: StoreTables) -> None:
        self._tables = tables
        self._table = tables.client(Table.BULK_EMAILS)

    def save(self, table: str, file_no: int, digests: np.ndarray) -> None:
        data = np.sort(digests).astype("<u8").tobytes()
        chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
        if len(chunks) > CHUNKS_PER_ROW:
            raise ValueError(f"{len(digests)} digests are more than one file of a bulk copy holds")
        entity = {"PartitionKey": COPY, "RowKey": f"{table}~{file_no:08d}", "parts": len(chunks)}
        entity.update({f"d{n}": chunk for n, chunk in enumerate(chunks)})
        self._table.upsert_entity(entity)
        self._tables.wrote(Table.BULK_EMAILS, 1)

    def load(self, table: str, before: int) -> EmailDigests:
        """Every other table's digests, and this table's files numbered below `before` (those its
        checkpoint counts: a row saved by a step that crashed before its checkpoint is left out)."""
        parts: list[np.ndarray] = []
        for entity in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": COPY}):
            owner, _, number = str(entity["RowKey"]).rpartition("~")
            if owner == table and int(number) >= before:
                continue
            data = b"".join(bytes(entity[f"d{n}"]) for n in range(int(entity["parts"])) if f"d{n}" in entity)
            parts.append(np.frombuffer(data, dtype="<u8").astype(np.uint64))
        return EmailDigests(np.concatenate(parts) if parts else None)

    def clear(self) -> None:
        keys = [
            e["RowKey"]
            for e in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": COPY}, select=["RowKey"])
        ]
        for start in range(0, len(keys), 100):
            submit(self._table, [Delete(COPY, rk) for rk in keys[start : start + 100]])
        self._tables.wrote(Table.BULK_EMAILS, len(keys))
