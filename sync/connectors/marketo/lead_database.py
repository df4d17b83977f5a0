"""Lead Database objects other than persons: companies, opportunities, opportunity roles, sales
persons and custom objects share one API shape (upsert / query / delete / describe, 300 per call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sync.connectors.marketo.batching import MAX_RECORDS, chunks, run_in_order
from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.envelope import RecordResult

# The standard objects by their singular names: (path under /rest/v1, what people call them).
STANDARD_OBJECTS: Final[dict[str, tuple[str, str]]] = {
    "company": ("companies", "companies"),
    "opportunity": ("opportunities", "opportunities"),
    "opportunityrole": ("opportunities/roles", "opportunity roles"),
    "salesperson": ("salespersons", "sales persons"),
}


class LeadDatabaseApi:
    def __init__(self, client: MarketoClient, path: str, label: str = "") -> None:
        """`path` under /rest/v1: companies, opportunities, opportunities/roles, salespersons,
        customobjects/<name>."""
        self.client = client
        self.path = f"/rest/v1/{path}"
        self.label = label or path

    def upsert(
        self,
        records: Sequence[dict[str, Any]],
        *,
        action: str = "createOrUpdate",
        dedupe_by: str = "dedupeFields",
    ) -> list[RecordResult]:
        def call(batch: Sequence[dict[str, Any]]) -> list[RecordResult]:
            body = {"action": action, "dedupeBy": dedupe_by, "input": list(batch)}
            return self.client.call("POST", f"{self.path}.json", json=body).record_results()

        return run_in_order(chunks(records), call, self.client.limiter.workers)

    def query(
        self, filter_type: str, values: Sequence[str | dict[str, Any]], fields: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Plain values go as filterValues (a form body once the URI would pass 8 KB); dicts
        (compound keys such as an opportunity role's) as POST ?_method=GET with a JSON body."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(values), MAX_RECORDS):
            batch = list(values[start : start + MAX_RECORDS])
            if any(isinstance(v, dict) for v in batch):
                body: dict[str, Any] = {"filterType": filter_type, "input": batch}
                if fields:
                    body["fields"] = list(fields)
                pages = self.client.read_pages(f"{self.path}.json", json_body=body)
            else:
                params: dict[str, Any] = {"filterType": filter_type, "filterValues": ",".join(map(str, batch))}
                if fields:
                    params["fields"] = ",".join(fields)
                pages = self.client.read_pages(f"{self.path}.json", params)
            for envelope in pages:
                found.extend(envelope.result)
        return found

    def delete(self, records: Sequence[dict[str, Any]], *, delete_by: str = "dedupeFields") -> list[RecordResult]:
        def call(batch: Sequence[dict[str, Any]]) -> list[RecordResult]:
            body = {"deleteBy": delete_by, "input": list(batch)}
            return self.client.call("POST", f"{self.path}/delete.json", json=body).record_results()

        return run_in_order(chunks(records), call, self.client.limiter.workers)

    def may_write(self) -> None:
        self.client.may_write(f"{self.path}.json")

    def describe(self) -> dict[str, Any]:
        envelope = self.client.call("GET", f"{self.path}/describe.json")
        return envelope.result[0] if envelope.result else {}
