"""Links: one Dynamics record (table, GUID) ↔ one Marketo record (object, id), with the fingerprint
and values of the last sync.

Layout for 10 million links. Table Storage indexes only (PartitionKey, RowKey), so each link is
two rows: the link itself in `Links`, keyed by the Dynamics side, and an index row in
`LinksByMarketo`, keyed by the Marketo side, pointing back. Both are point reads either way.

PartitionKey = "<table or object>~<bucket>", bucket = hash(id) mod 16. Dataverse GUIDs and
Marketo ids are sequential, so the hash is what spreads them. 16 buckets per object keep a
partition at ~625,000 rows for 10M links, and give 16 partitions x ~2,000 entities/s of write
headroom per object, over ten times what Marketo's 100 calls / 20 s x 300 records lets the sync
write; yet a 300-record page still lands ~19 rows per partition, so batch transactions (one
partition, <= 100 operations) stay full enough to be worth it.

A page's batches go to their partitions in parallel (`WRITERS` at a time; transactions of
different partitions are independent): a 3,000-person page is ~60 transactions, and sent one
after another they held up the next page's Marketo calls, which wait for this page's
checkpoint. Index rows are written before link rows and a lookup by Marketo id checks that the link row
points back, so a crash between the two writes, or a relink to another person, never yields a
wrong answer: a stale index row reads as "no link".
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sync.store.keys import bucket_of, escape_key, unescape_key
from sync.store.limits import check_entity
from sync.store.tables import StoreTables, Table
from sync.store.transactions import Delete, Merge, Operation, TransactionFailed, Upsert, submit

BUCKETS: Final = 16
WRITERS: Final = 8
MAX_BATCH: Final = 100
MAX_KEYS_PER_QUERY: Final = 14


class DynamicsRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    table: str
    id: str

    @field_validator("id")
    @classmethod
    def _guid_lower(cls, value: str) -> str:
        return value.lower()


class MarketoRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: str
    id: str


class Link(BaseModel):
    model_config = ConfigDict(frozen=True)

    dynamics: DynamicsRef
    marketo: MarketoRef
    fingerprint: str = ""
    synced: dict[str, Any] = Field(default_factory=dict)
    deleted: bool = False  # the Dynamics record was deleted (the Marketo person stays, marked)
    filtered: bool = False  # the sync filter turned false: updates stop until it turns true again
    qualified_into: str = ""  # a qualified lead: the contact that took over its person (never written again)
    updated_at: datetime | None = None
    # When the sync last wrote the Marketo record: a trigger campaign answers that write with a
    # webhook moments later, which is an echo, not an edit (sync/engine/changes.py).
    pushed_at: datetime | None = None

    @property
    def pending(self) -> bool:
        """A bulk-imported record whose Marketo id is not known yet (`attach` gives it one)."""
        return not self.marketo.id


def _read_rows(client: TableClient, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TableEntity]:
    """Rows by (PartitionKey, RowKey): Table Storage allows 15 comparisons per filter, so the
    partition's plus 14 RowKeys per query."""
    by_partition: dict[str, list[str]] = defaultdict(list)
    for pk, rk in dict.fromkeys(keys):
        by_partition[pk].append(rk)
    found: dict[tuple[str, str], TableEntity] = {}
    for pk, row_keys in by_partition.items():
        for start in range(0, len(row_keys), MAX_KEYS_PER_QUERY):
            chunk = row_keys[start : start + MAX_KEYS_PER_QUERY]
            params: dict[str, Any] = {"pk": pk} | {f"r{i}": rk for i, rk in enumerate(chunk)}
            rows = " or ".join(f"RowKey eq @r{i}" for i in range(len(chunk)))
            # spaces around the parentheses: the SDK substitutes @names split on whitespace
            for entity in client.query_entities(f"PartitionKey eq @pk and ( {rows} )", parameters=params):
                found[(pk, entity["RowKey"])] = entity
    return found


def _partition(kind: str, record_id: str) -> str:
    return f"{escape_key(kind)}~{bucket_of(record_id, BUCKETS):x}"


def _link_keys(ref: DynamicsRef) -> tuple[str, str]:
    return _partition(ref.table, ref.id), escape_key(ref.id)


def _index_keys(ref: MarketoRef) -> tuple[str, str]:
    return _partition(ref.object, ref.id), escape_key(ref.id)


class LinkStore:
    def __init__(self, tables: StoreTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._links = tables.client(Table.LINKS)
        self._index = tables.client(Table.LINKS_BY_MARKETO)
        self._names = {
            Table.LINKS: tables.name_of(Table.LINKS),
            Table.LINKS_BY_MARKETO: tables.name_of(Table.LINKS_BY_MARKETO),
        }
        self._clock = clock
        self._writers: ThreadPoolExecutor | None = None
        self._writers_lock = threading.Lock()

    # reads

    def get_by_dynamics(self, ref: DynamicsRef) -> Link | None:
        try:
            return self._from_entity(self._links.get_entity(*_link_keys(ref)))
        except ResourceNotFoundError:
            return None

    def get_by_marketo(self, ref: MarketoRef) -> Link | None:
        try:
            index = self._index.get_entity(*_index_keys(ref))
        except ResourceNotFoundError:
            return None
        link = self.get_by_dynamics(DynamicsRef(table=index["dynamics_table"], id=index["dynamics_id"]))
        return link if link is not None and link.marketo == ref else None

    def get_many_by_dynamics(self, refs: Iterable[DynamicsRef]) -> dict[DynamicsRef, Link]:
        """A page of lookups in few round trips: one query per partition and 14 keys."""
        wanted = {_link_keys(ref): ref for ref in refs}
        rows = _read_rows(self._links, wanted)
        return {wanted[key]: self._from_entity(entity) for key, entity in rows.items()}

    def get_many_by_marketo(self, refs: Iterable[MarketoRef]) -> dict[MarketoRef, Link]:
        wanted = {_index_keys(ref): ref for ref in refs}
        index_rows = _read_rows(self._index, wanted)
        pointed = {
            wanted[key]: DynamicsRef(table=row["dynamics_table"], id=row["dynamics_id"])
            for key, row in index_rows.items()
        }
        links = self.get_many_by_dynamics(pointed.values())
        found = {ref: links.get(dynamics) for ref, dynamics in pointed.items()}
        return {ref: link for ref, link in found.items() if link is not None and link.marketo == ref}

    def iter_table(self, table: str) -> Iterator[Link]:
        """Every link of one Dynamics table (for "resync a field"), partition by partition."""
        for bucket in range(BUCKETS):
            pk = f"{escape_key(table)}~{bucket:x}"
            for entity in self._links.query_entities("PartitionKey eq @pk", parameters={"pk": pk}):
                yield self._from_entity(entity)

    def page_table(self, table: str, cursor: str | None, size: int = 300) -> tuple[list[Link], str | None]:
        """Up to `size` links of one Dynamics table after `cursor` (None: the first page), and the
        cursor of the next page (None after the last): a resumable walk over every link."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {"bucket": 0, "token": None}
        found: list[Link] = []
        bucket, token = int(state["bucket"]), state.get("token")  # the SDK's token: {"PartitionKey", "RowKey"}
        while bucket < BUCKETS and len(found) < size:
            pk = f"{escape_key(table)}~{bucket:x}"
            pages: Any = self._links.query_entities(
                "PartitionKey eq @pk", parameters={"pk": pk}, results_per_page=size - len(found)
            ).by_page(continuation_token=token)
            found += [self._from_entity(e) for e in next(pages, [])]
            token = pages.continuation_token
            if not token:
                bucket, token = bucket + 1, None
        if bucket >= BUCKETS:
            return found, None
        return found, json.dumps({"bucket": bucket, "token": token})

    # writes

    def upsert_many(self, links: Sequence[Link], *, index: bool = True) -> None:
        """Store links in batch transactions (<= 100 per partition). Validates all before writing any.
        `index=False` skips the rows keyed by Marketo id: objects that only flow Dynamics → Marketo
        are never looked up that way, and one row per record halves their store writes."""
        now = self._clock()
        index_rows = [self._index_entity(link) for link in links] if index else []
        link_rows = [self._link_entity(link, now) for link in links]
        for row in index_rows:
            check_entity(self._names[Table.LINKS_BY_MARKETO], row)
        for row in link_rows:
            check_entity(self._names[Table.LINKS], row)
        self._tables.wrote(Table.LINKS_BY_MARKETO, self._submit(self._index, index_rows))
        self._tables.wrote(Table.LINKS, self._submit(self._links, link_rows))

    def upsert(self, link: Link) -> None:
        self.upsert_many([link])

    def attach(self, marketo_object: str, pairs: Sequence[tuple[DynamicsRef, str]]) -> int:
        """Give pending links (written with their synced values before the bulk import) their
        Marketo ids: the id merged onto each link row, which must exist, and the index row. A
        pair with no link row is skipped (a person some other record's copy made). Returns how
        many were attached."""
        now = self._clock()
        index_rows = [
            self._index_entity(Link(dynamics=ref, marketo=MarketoRef(object=marketo_object, id=mid)))
            for ref, mid in pairs
        ]
        merges: list[dict[str, Any]] = [
            {"PartitionKey": pk, "RowKey": rk, "marketo_id": mid, "updated_at": now}
            for (pk, rk), (_, mid) in zip((_link_keys(ref) for ref, _ in pairs), pairs, strict=True)
        ]
        by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in {(m["PartitionKey"], m["RowKey"]): m for m in merges}.values():
            by_partition[row["PartitionKey"]].append(row)
        batches = [
            rows[start : start + MAX_BATCH]
            for rows in by_partition.values()
            for start in range(0, len(rows), MAX_BATCH)
        ]
        self._tables.wrote(Table.LINKS_BY_MARKETO, self._submit(self._index, index_rows))
        attached = int(sum(self._pool_map(self._merge_batch, batches)))
        self._tables.wrote(Table.LINKS, attached)
        return attached

    def _merge_batch(self, rows: list[dict[str, Any]]) -> int:
        try:
            submit(self._links, [Merge(row) for row in rows])
            return len(rows)
        except TransactionFailed as error:
            if error.refused_status != 404:
                raise
        attached = 0
        for row in rows:  # one row is missing: the others one by one
            with contextlib.suppress(ResourceNotFoundError):
                self._links.update_entity(row, mode=UpdateMode.MERGE)
                attached += 1
        return attached

    def pending(self, table: str) -> Iterator[Link]:
        """Links of one table still without a Marketo id (after a bulk copy's attach: records
        the import did not create)."""
        for bucket in range(BUCKETS):
            pk = f"{escape_key(table)}~{bucket:x}"
            query = "PartitionKey eq @pk and marketo_id eq @empty"
            for entity in self._links.query_entities(query, parameters={"pk": pk, "empty": ""}):
                yield self._from_entity(entity)

    def delete(self, link: Link, *, index: bool = True) -> None:
        """Drop both rows (Marketo person deleted: the link goes, the Dynamics record stays)."""
        targets = [(self._links, _link_keys(link.dynamics))]
        if index:
            targets.append((self._index, _index_keys(link.marketo)))
        for client, keys in targets:
            with contextlib.suppress(ResourceNotFoundError):
                client.delete_entity(*keys)

    def delete_many(self, links: Sequence[Link], *, index: bool = True) -> None:
        """Drop many links in batch transactions (deleting a missing row fails a transaction, so
        only links that were read from the store belong here)."""
        self._tables.wrote(Table.LINKS, self._remove(self._links, [_link_keys(link.dynamics) for link in links]))
        if index:
            removed = self._remove(self._index, [_index_keys(link.marketo) for link in links])
            self._tables.wrote(Table.LINKS_BY_MARKETO, removed)

    def any_for(self, table: str) -> bool:
        """Whether one Dynamics table has any link at all (a first full copy can skip lookups)."""
        for bucket in range(BUCKETS):
            pk = f"{escape_key(table)}~{bucket:x}"
            pages = self._links.query_entities(
                "PartitionKey eq @pk", parameters={"pk": pk}, results_per_page=1, select=["RowKey"]
            ).by_page()
            if next(iter(next(pages, [])), None) is not None:
                return True
        return False

    # rows

    def _submit(self, client: TableClient, rows: list[dict[str, Any]]) -> int:
        """An entity may appear once per transaction: the last row for a key wins. Returns the
        number of entities written."""
        latest = {(row["PartitionKey"], row["RowKey"]): row for row in rows}
        by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in latest.values():
            by_partition[row["PartitionKey"]].append(row)
        batches = [
            [Upsert(row) for row in partition_rows[start : start + MAX_BATCH]]
            for partition_rows in by_partition.values()
            for start in range(0, len(partition_rows), MAX_BATCH)
        ]
        self._send(client, batches)
        return len(latest)

    def _remove(self, client: TableClient, keys: list[tuple[str, str]]) -> int:
        by_partition: dict[str, list[str]] = defaultdict(list)
        for pk, rk in dict.fromkeys(keys):
            by_partition[pk].append(rk)
        batches: list[list[Operation]] = [
            [Delete(pk, rk) for rk in row_keys[start : start + MAX_BATCH]]
            for pk, row_keys in by_partition.items()
            for start in range(0, len(row_keys), MAX_BATCH)
        ]
        self._send(client, batches)
        return sum(len(rks) for rks in by_partition.values())

    def _send(self, client: TableClient, batches: Sequence[Sequence[Operation]]) -> None:
        """Every batch, in parallel; returns once all are stored, raising the first failure."""
        self._pool_map(lambda batch: submit(client, batch), batches)

    def _pool_map(self, work: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if len(items) <= 1:
            return [work(item) for item in items]
        with self._writers_lock:
            if self._writers is None:
                self._writers = ThreadPoolExecutor(WRITERS, thread_name_prefix="links")
        return [future.result() for future in [self._writers.submit(work, item) for item in items]]

    @staticmethod
    def _index_entity(link: Link) -> dict[str, Any]:
        pk, rk = _index_keys(link.marketo)
        return {
            "PartitionKey": pk,
            "RowKey": rk,
            "dynamics_table": link.dynamics.table,
            "dynamics_id": link.dynamics.id,
        }

    @staticmethod
    def _link_entity(link: Link, now: datetime) -> dict[str, Any]:
        pk, rk = _link_keys(link.dynamics)
        return {
            "PartitionKey": pk,
            "RowKey": rk,
            "dynamics_table": link.dynamics.table,
            "marketo_object": link.marketo.object,
            "marketo_id": link.marketo.id,
            "fingerprint": link.fingerprint,
            "synced": json.dumps(link.synced, sort_keys=True, default=str),
            "deleted": link.deleted,
            "filtered": link.filtered,
            "qualified_into": link.qualified_into,
            "updated_at": now,
        } | ({"pushed_at": link.pushed_at} if link.pushed_at is not None else {})

    @staticmethod
    def _from_entity(entity: TableEntity) -> Link:
        return Link(
            dynamics=DynamicsRef(table=entity["dynamics_table"], id=unescape_key(entity["RowKey"])),
            marketo=MarketoRef(object=entity["marketo_object"], id=entity["marketo_id"]),
            fingerprint=entity.get("fingerprint") or "",
            synced=json.loads(entity.get("synced") or "{}"),
            deleted=bool(entity.get("deleted", False)),
            filtered=bool(entity.get("filtered", False)),
            qualified_into=str(entity.get("qualified_into") or ""),
            updated_at=entity.get("updated_at"),
            pushed_at=entity.get("pushed_at"),
        )
