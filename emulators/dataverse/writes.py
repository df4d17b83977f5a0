"""Writes of one record: create, upsert (by id or alternate key), delete; what they may change."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.dataverse import marketing
from emulators.dataverse.catalogue import TableDef
from emulators.dataverse.core import (
    _GUID,
    API,
    DataverseCore,
    api,
)
from emulators.dataverse.models import DataverseError, Row, not_found
from emulators.dataverse.plugin_registration import OWN as REGISTRATION
from emulators.dataverse.plugin_registration import check_write
from emulators.dataverse.wire import (
    bad_request,
    json_reply,
    parse_payload,
    parse_prefer,
    serialize,
)


class DataverseWrites(DataverseCore):
    def _entity_url(self, request: Request | None, table: TableDef, record_id: str) -> str:
        return f"{self._base(request)}{API}/{table.entity_set}({record_id})"

    def _written(self, request: Request, table: TableDef, row: Row, created: bool) -> Response:
        prefer = parse_prefer(request.headers.get("Prefer"))
        url = self._entity_url(request, table, row[table.primary_id])
        headers = {"OData-EntityId": url, "Location": url}
        if prefer.return_representation:
            select = self._select(table, request.args.get("$select"))
            body = {
                "@odata.context": self._context(request, table, select, "/$entity"),
                **serialize(self.org, table, row, select, prefer),
            }
            return json_reply(body, 201 if created else 200, headers)
        return Response(status=204, headers={"OData-Version": "4.0", **headers})

    def _body(self, request: Request) -> Any:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except ValueError as exc:
            raise bad_request(f"The request body is not valid JSON: {exc}.") from None

    def _check_writable(self, table: TableDef, row: Row | None, values: Row) -> None:
        if table.logical_name in REGISTRATION:
            check_write(self.org, table.logical_name, values, row)
            if "authvalue" in values:
                values["isauthvalueset"] = bool(values["authvalue"])
        closed_lead = table.logical_name == "lead" and row is not None and row.get("statecode") in (1, 2)
        if closed_lead and set(values) - {"statecode", "statuscode"}:
            raise DataverseError(
                400,
                "0x80040203",
                "This lead is Qualified or Disqualified and so is read-only. "
                "Reactivate it (statecode 0) before changing other columns.",
            )

    @api("/<set:entity_set>", "POST")
    def on_create(self, request: Request, user: str, entity_set: str) -> Response:
        table = self.table_of(entity_set)
        payload = self._body(request)
        self.pause("write")
        with self.lock, self.org.transaction():
            found = marketing.parties(self.org, table.logical_name, payload) if isinstance(payload, dict) else []
            values = parse_payload(self.org, table, payload)
            record_id = values.pop(table.primary_id, None)
            self._check_writable(table, None, values)
            marketing.prepare_create(self.org, table.logical_name, values)
            row = self.org.create(table.logical_name, values, user, record_id)
            marketing.write_parties(self.org, table.logical_name, row[table.primary_id], found)
            return self._written(request, table, row, created=True)

    @api("/<set:entity_set>(<key:key>)", "PATCH")
    def on_upsert(self, request: Request, user: str, entity_set: str, key: str) -> Response:
        table = self.table_of(entity_set)
        payload = self._body(request)
        self.pause("write")
        with self.lock:
            values = parse_payload(self.org, table, payload)
            values.pop(table.primary_id, None)
            record_id = self.resolve_key(table, key)
            row = self.org.get(table.logical_name, record_id) if record_id else None
            if_match, if_none_match = request.headers.get("If-Match"), request.headers.get("If-None-Match")
            if if_match == "*" and row is None:
                raise not_found(table.logical_name, key)
            if if_none_match == "*" and row is not None:
                raise DataverseError(412, "0x80040237", "A record with matching key values already exists.")
            if if_match not in (None, "*"):
                if row is None:
                    raise not_found(table.logical_name, key)
                if if_match.strip() != f'W/"{row["versionnumber"]}"':
                    raise DataverseError(
                        412,
                        "0x80060882",
                        "The version of the existing record doesn't match the RowVersion property provided.",
                    )
            if row is None:
                if record_id is None and not _GUID.match(key.strip()):
                    pairs = dict(part.split("=", 1) for part in key.split(","))
                    values.update({n: v.strip("'") for n, v in pairs.items()})
                self._check_writable(table, None, values)
                marketing.prepare_create(self.org, table.logical_name, values)
                created = self.org.create(
                    table.logical_name, values, user, record_id if _GUID.match(key.strip()) else None
                )
                return self._written(request, table, created, created=True)
            self._check_writable(table, row, values)
            updated = self.org.update(table.logical_name, row[table.primary_id], values, user)
            return self._written(request, table, updated, created=False)

    @api("/<set:entity_set>(<key:key>)", "DELETE")
    def on_delete(self, request: Request, user: str, entity_set: str, key: str) -> Response:
        table = self.table_of(entity_set)
        self.pause("write")
        with self.lock:
            record_id = self.resolve_key(table, key)
            row = self.org.get(table.logical_name, record_id) if record_id else None
            if record_id is None or row is None:
                raise not_found(table.logical_name, key)
            marketing.member_removed(self.org, table.logical_name, row)
            self.org.delete(table.logical_name, record_id)
        return Response(status=204, headers={"OData-Version": "4.0"})
