"""Persons (Marketo "leads"): upsert, query, describe, custom fields, delete."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from sync.connectors.marketo.batching import MAX_RECORDS, chunks, run_in_order
from sync.connectors.marketo.client import MarketoClient
from sync.connectors.marketo.envelope import RecordResult


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

    def upsert(
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
            return self.client.call("POST", "/rest/v1/leads.json", json=body).record_results()

        return run_in_order(chunks(records), call, self.client.limiter.workers)

    def create_once(self, records: Sequence[dict[str, Any]]) -> list[RecordResult]:
        """Create each record as a new person (`createDuplicate`: no lookup), at most once: up to
        300 records, never repeated after it may have been carried out (OutcomeUnknown)."""
        if len(records) > MAX_RECORDS:
            raise ValueError(f"create_once takes at most {MAX_RECORDS} records a call")
        body = {"action": "createDuplicate", "input": list(records)}
        return self.client.call("POST", "/rest/v1/leads.json", json=body, idempotent=False).record_results()

    def may_write(self) -> None:
        self.client.may_write("/rest/v1/leads.json")

    def query(self, filter_type: str, values: Iterable[str], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Every person matching any value, with `fields` (absent values come back as None)."""
        wanted = list(dict.fromkeys(str(v) for v in values))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), MAX_RECORDS):
            params = {
                "filterType": filter_type,
                "filterValues": ",".join(wanted[start : start + MAX_RECORDS]),
                "fields": ",".join(fields),
            }
            for envelope in self.client.read_pages("/rest/v1/leads.json", params):
                found.extend(envelope.result)
        return found

    def get(self, person_id: int, fields: Sequence[str]) -> dict[str, Any] | None:
        envelope = self.client.read(f"/rest/v1/lead/{int(person_id)}.json", {"fields": ",".join(fields)})
        return envelope.result[0] if envelope.result else None

    def describe(self) -> PersonSchema:
        envelope = self.client.call("GET", "/rest/v1/leads/describe2.json")
        described = envelope.result[0]
        fields = {f["name"]: PersonField.model_validate(f) for f in described.get("fields", [])}
        return PersonSchema(fields=fields, searchable=tuple(tuple(s) for s in described.get("searchableFields", [])))

    def field_ids(self) -> dict[int, str]:
        """Field id → REST name (describe.json): how activities name a changed field."""
        envelope = self.client.call("GET", "/rest/v1/leads/describe.json")
        return {int(f["id"]): str(f["rest"]["name"]) for f in envelope.result if f.get("rest")}

    def create_fields(self, specs: Sequence[dict[str, Any]]) -> list[RecordResult]:
        return self.client.call(
            "POST", "/rest/v1/leads/schema/fields.json", json={"input": list(specs)}
        ).record_results()

    def delete(self, person_ids: Sequence[int]) -> list[RecordResult]:
        def call(batch: Sequence[dict[str, Any]]) -> list[RecordResult]:
            return self.client.call("POST", "/rest/v1/leads/delete.json", json={"input": list(batch)}).record_results()

        return run_in_order(chunks([{"id": int(i)} for i in person_ids]), call, self.client.limiter.workers)
