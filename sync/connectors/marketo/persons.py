"""Persons (Marketo "leads"): push, query, describe, custom fields, delete."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict

from sync.connectors.marketo.batching import chunks, run_in_order
from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.envelope import RecordResult

MAX_URI_QUERY: Final = 6000  # Marketo refuses URIs over 8 KB: longer queries go as POST ?_method=GET


class PersonField(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    displayName: str  # noqa: N815
    dataType: str  # noqa: N815
    length: int | None = None
    updateable: bool = True


class PersonSchema(BaseModel):
    model_config = ConfigDict(frozen=True)

    fields: dict[str, PersonField]
    searchable: tuple[tuple[str, ...], ...]


class PersonApi:
    def __init__(self, client: MarketoClient) -> None:
        self.client = client

    def push(
        self,
        records: Sequence[dict[str, Any]],
        *,
        action: str = "createOrUpdate",
        lookup_field: str = "email",
        partition: str | None = None,
    ) -> list[RecordResult]:
        """One RecordResult per input record, in input order, whatever the number of calls."""

        def call(batch: Sequence[dict[str, Any]]) -> list[RecordResult]:
            body: dict[str, Any] = {"action": action, "lookupField": lookup_field, "input": list(batch)}
            if partition:
                body["partitionName"] = partition
            envelope = self.client.call("POST", "/rest/v1/leads.json", json=body)
            return [RecordResult.model_validate(r) for r in envelope.result]

        return run_in_order(chunks(records), call, self.client.limiter.max_concurrency)

    def query(self, filter_type: str, values: Iterable[str], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Every person matching any value, with `fields` (absent values come back as None)."""
        wanted = list(dict.fromkeys(str(v) for v in values))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 300):
            params: dict[str, Any] = {
                "filterType": filter_type,
                "filterValues": ",".join(wanted[start : start + 300]),
                "fields": ",".join(fields),
            }
            while True:
                if len(urlencode(params)) > MAX_URI_QUERY:
                    envelope = self.client.call("POST", "/rest/v1/leads.json", params={"_method": "GET"}, data=params)
                else:
                    envelope = self.client.call("GET", "/rest/v1/leads.json", params=params)
                found.extend(envelope.result)
                if not envelope.next_page_token:
                    break
                params = {**params, "nextPageToken": envelope.next_page_token}
        return found

    def get(self, person_id: int, fields: Sequence[str]) -> dict[str, Any] | None:
        envelope = self.client.call("GET", f"/rest/v1/lead/{int(person_id)}.json", params={"fields": ",".join(fields)})
        return envelope.result[0] if envelope.result else None

    def describe(self) -> PersonSchema:
        envelope = self.client.call("GET", "/rest/v1/leads/describe2.json")
        described = envelope.result[0]
        fields = {f["name"]: PersonField.model_validate(f) for f in described.get("fields", [])}
        return PersonSchema(fields=fields, searchable=tuple(tuple(s) for s in described.get("searchableFields", [])))

    def create_fields(self, specs: Sequence[dict[str, Any]]) -> list[RecordResult]:
        envelope = self.client.call("POST", "/rest/v1/leads/schema/fields.json", json={"input": list(specs)})
        return [RecordResult.model_validate(r) for r in envelope.result]

    def delete(self, person_ids: Sequence[int]) -> list[RecordResult]:
        def call(batch: Sequence[dict[str, Any]]) -> list[RecordResult]:
            envelope = self.client.call("POST", "/rest/v1/leads/delete.json", json={"input": list(batch)})
            return [RecordResult.model_validate(r) for r in envelope.result]

        return run_in_order(chunks([{"id": int(i)} for i in person_ids]), call, self.client.limiter.max_concurrency)
