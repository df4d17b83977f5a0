"""Entity group transactions through our codec, against Azurite: what the SDK's own
`submit_transaction` would store, all or nothing, refusals named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from sync.store.tables import service_client
from sync.store.transactions import Delete, TransactionFailed, Upsert, submit


@pytest.fixture
def table(storage_connection: str, table_prefix: str) -> Iterator[TableClient]:
    service = service_client(storage_connection)
    client = service.create_table_if_not_exists(f"{table_prefix}Codec")
    yield client
    service.delete_table(client.table_name)


def _row(n: int, partition: str = "p~1") -> dict[str, object]:
    return {
        "PartitionKey": partition,
        "RowKey": f"o'brien ü {n}",  # a quote, a space and a non-ASCII letter in a key
        "count": n,
        "ratio": n / 3,
        "ok": n % 2 == 0,
        "when": datetime(2026, 11, 22, 10, n % 60, tzinfo=UTC),
        "text": 'héllo "quoted" ünïcode ✓',
    }


def _stored(table: TableClient, partition: str) -> dict[str, dict[str, object]]:
    found = table.query_entities("PartitionKey eq @pk", parameters={"pk": partition})
    return {str(e["RowKey"]): dict(e) for e in found}


def test_a_hundred_upserts_store_what_the_sdks_own_transaction_stores(table: TableClient) -> None:
    submit(table, [Upsert(_row(n, "ours")) for n in range(100)])
    table.submit_transaction(
        [(TransactionOperation.UPSERT, _row(n, "sdk"), {"mode": UpdateMode.REPLACE}) for n in range(100)]
    )
    ours, theirs = _stored(table, "ours"), _stored(table, "sdk")
    assert len(ours) == 100
    strip = ("PartitionKey",)
    assert {k: {f: v for f, v in e.items() if f not in strip} for k, e in ours.items()} == {
        k: {f: v for f, v in e.items() if f not in strip} for k, e in theirs.items()
    }


def test_an_upsert_replaces_the_whole_row_and_deletes_remove_rows(table: TableClient) -> None:
    submit(table, [Upsert(_row(1))])
    submit(table, [Upsert({"PartitionKey": "p~1", "RowKey": "o'brien ü 1", "count": 7})])
    assert {k: v for k, v in _stored(table, "p~1")["o'brien ü 1"].items() if k != "RowKey"} == {
        "PartitionKey": "p~1",
        "count": 7,
    }
    submit(table, [Delete("p~1", "o'brien ü 1")])
    assert _stored(table, "p~1") == {}


def test_a_refused_operation_fails_the_whole_transaction_naming_the_reason(table: TableClient) -> None:
    with pytest.raises(TransactionFailed, match=r"HTTP 404: 1:The specified resource does not exist"):
        submit(table, [Upsert(_row(1)), Delete("p~1", "missing")])
    assert _stored(table, "p~1") == {}  # all or nothing: the upsert is not there either


def test_more_than_a_hundred_operations_are_refused_before_any_call(table: TableClient) -> None:
    with pytest.raises(ValueError, match="at most 100 operations, not 101"):
        submit(table, [Upsert(_row(n)) for n in range(101)])
