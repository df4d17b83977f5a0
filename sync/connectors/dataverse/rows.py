"""Reading given rows of a table: by id (the records a run retries or merges; ids go 40 to a
$filter, well inside URL limits), by one column's value (a flow action's email match), or a page
at a time of those a filter picks (a Quick Sync's window), and how many it picks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from sync.connectors.dataverse.changes import ANNOTATIONS
from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.metadata import TableDefinition

IDS_PER_QUERY: Final = 40
LIMIT_EXCEEDED: Final = "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"


class RowReader:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client

    def by_ids(self, table: TableDefinition, ids: Iterable[str], select: Sequence[str]) -> list[dict[str, Any]]:
        """The rows that exist among `ids` (missing ones are simply absent), with `select`."""
        wanted = list(dict.fromkeys(i.lower() for i in ids))
        columns = ",".join(dict.fromkeys([table.primary_id, *select]))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[start : start + IDS_PER_QUERY]
            params = {"$select": columns, "$filter": " or ".join(f"{table.primary_id} eq {i}" for i in chunk)}
            for body in self.client.read_pages(table.entity_set, params=params, prefer=[ANNOTATIONS]):
                rows.extend(body.get("value", []))
        return rows

    def where_equal(
        self, table: TableDefinition, column: str, value: str, select: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The rows whose text `column` equals `value`, with `select`."""
        quoted = value.replace("'", "''")
        params = {"$select": ",".join(dict.fromkeys([table.primary_id, *select])), "$filter": f"{column} eq '{quoted}'"}
        rows: list[dict[str, Any]] = []
        for body in self.client.read_pages(table.entity_set, params=params, prefer=[ANNOTATIONS]):
            rows.extend(body.get("value", []))
        return rows

    def page_where(
        self, table: TableDefinition, where: str, select: Sequence[str], next_link: str | None, size: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of up to `size` rows `where` picks (an OData $filter), and the next link to
        the rest (None at the end): the first page when `next_link` is None."""
        prefer = [ANNOTATIONS, f"odata.maxpagesize={size}"]
        if next_link is None:
            params = {"$select": ",".join(dict.fromkeys([table.primary_id, *select])), "$filter": where}
            body = self.client.get_json(table.entity_set, params=params, prefer=prefer)
        else:
            body = self.client.get_json(next_link, prefer=prefer)
        return list(body.get("value", [])), body.get("@odata.nextLink")

    def count_where(self, table: TableDefinition, where: str) -> int | None:
        """How many rows `where` picks — None past the 5,000 that `$count` counts at most (the
        Web API caps it and says so); one row read."""
        params = {"$select": table.primary_id, "$filter": where, "$count": "true"}
        body = self.client.get_json(table.entity_set, params=params, prefer=["odata.maxpagesize=1"])
        if body.get(LIMIT_EXCEEDED) or "@odata.count" not in body:
            return None
        return int(body["@odata.count"])
