"""Writes: create, upsert, delete, actions (UpdateMultiple and the like, QualifyLead), $batch parts."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from emulators.dataverse.catalogue import TableDef
from emulators.dataverse.core import (
    _GUID,
    API,
    ENTITY_REF,
    DataverseCore,
    api,
)
from emulators.dataverse.models import DataverseError, Row, not_found
from emulators.dataverse.odata import ODataError
from emulators.dataverse.wire import (
    bad_request,
    error_reply,
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
        self.pause(0.03)
        with self.lock:
            values = parse_payload(self.org, table, payload)
            record_id = values.pop(table.primary_id, None)
            row = self.org.create(table.logical_name, values, user, record_id)
            return self._written(request, table, row, created=True)

    @api("/<set:entity_set>(<key:key>)", "PATCH")
    def on_upsert(self, request: Request, user: str, entity_set: str, key: str) -> Response:
        table = self.table_of(entity_set)
        payload = self._body(request)
        self.pause(0.03)
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
        self.pause(0.03)
        with self.lock:
            record_id = self.resolve_key(table, key)
            if record_id is None or self.org.get(table.logical_name, record_id) is None:
                raise not_found(table.logical_name, key)
            self.org.delete(table.logical_name, record_id)
        return Response(status=204, headers={"OData-Version": "4.0"})

    # bound actions

    @api("/<set:entity_set>/Microsoft.Dynamics.CRM.<action>", "POST")
    @api("/<set:entity_set>(<key:key>)/Microsoft.Dynamics.CRM.<action>", "POST")
    def on_action(self, request: Request, user: str, entity_set: str, action: str, key: str | None = None) -> Response:
        table = self.table_of(entity_set)
        body = self._body(request)
        if action == "QualifyLead" and table.logical_name == "lead" and key:
            return self._qualify(request, key, body or {}, user)
        if key is None and action in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple"):
            return self._multiple(request, table, action, body, user)
        raise DataverseError(
            404, "0x80060888", f"Resource not found for the segment 'Microsoft.Dynamics.CRM.{action}'."
        )

    def _multiple(self, request: Request, table: TableDef, action: str, body: Any, user: str) -> Response:
        targets = body.get("Targets") if isinstance(body, dict) else None
        if not isinstance(targets, list) or not targets:
            raise bad_request(f"{action} needs a non-empty 'Targets' array.")
        self.pause(0.05 + 0.005 * len(targets))
        ids, results = [], []
        with self.lock, self.org.transaction():  # on standard tables one bad record fails the whole call
            for target in targets:
                if not isinstance(target, dict) or "@odata.type" not in target:
                    raise bad_request('Each target needs "@odata.type": "Microsoft.Dynamics.CRM.<table>".')
                odata_id = target.get("@odata.id")
                values = parse_payload(self.org, table, target)
                record_id = values.pop(table.primary_id, None)
                if odata_id:
                    match = ENTITY_REF.match(str(odata_id).rsplit("/", 1)[-1])
                    record_id = (
                        self.resolve_key(table, match.group("key")) if match and match.group("key") else record_id
                    )
                existing = self.org.get(table.logical_name, record_id) if record_id else None
                if action == "CreateMultiple":
                    ids.append(self.org.create(table.logical_name, values, user, record_id)[table.primary_id])
                elif action == "UpdateMultiple":
                    if existing is None:
                        raise not_found(table.logical_name, str(record_id))
                    self._check_writable(table, existing, values)
                    self.org.update(table.logical_name, str(record_id), values, user)
                else:
                    if existing is None:
                        row = self.org.create(table.logical_name, values, user, record_id)
                    else:
                        self._check_writable(table, existing, values)
                        row = self.org.update(table.logical_name, str(record_id), values, user)
                    results.append(
                        {
                            "RecordCreated": existing is None,
                            "Target": {
                                "@odata.type": f"#Microsoft.Dynamics.CRM.{table.logical_name}",
                                table.primary_id: row[table.primary_id],
                            },
                        }
                    )
        context = f"{self._base(request)}{API}/$metadata#Microsoft.Dynamics.CRM.{action}Response"
        if action == "CreateMultiple":
            return json_reply({"@odata.context": context, "Ids": ids})
        if action == "UpsertMultiple":
            return json_reply({"@odata.context": context, "Results": results})
        return Response(status=204, headers={"OData-Version": "4.0"})

    def _qualify(self, request: Request, key: str, body: dict[str, Any], user: str) -> Response:
        created: list[dict[str, Any]] = []
        with self.lock, self.org.transaction():
            lead_id = self.resolve_key(self.org.table("lead").definition, key)
            lead = self.org.get("lead", lead_id) if lead_id else None
            if lead is None:
                raise not_found("lead", key)
            if lead.get("statecode") != 0:
                raise DataverseError(400, "0x8004d2b2", "The lead is closed. Only an open lead can be qualified.")
            owner = lead.get("ownerid")
            copy = {
                k: lead.get(k)
                for k in (
                    "address1_line1",
                    "address1_city",
                    "address1_stateorprovince",
                    "address1_postalcode",
                    "address1_country",
                    "telephone1",
                )
            }
            origin = ("lead", lead["leadid"])
            account = contact = None
            if body.get("CreateAccount"):
                account = self.org.create(
                    "account",
                    {
                        **copy,
                        "name": lead.get("companyname") or lead.get("fullname"),
                        "originatingleadid": origin,
                        "ownerid": owner,
                    },
                    user,
                )
                created.append({"@odata.type": "#Microsoft.Dynamics.CRM.account", "accountid": account["accountid"]})
            if body.get("CreateContact"):
                person = {
                    k: lead.get(k)
                    for k in (
                        "salutation",
                        "firstname",
                        "middlename",
                        "lastname",
                        "emailaddress1",
                        "jobtitle",
                        "mobilephone",
                        "fax",
                        "donotphone",
                        "donotbulkemail",
                    )
                }
                contact = self.org.create(
                    "contact",
                    {
                        **copy,
                        **person,
                        "originatingleadid": origin,
                        "ownerid": owner,
                        "parentcustomerid": ("account", account["accountid"]) if account else None,
                    },
                    user,
                )
                created.append({"@odata.type": "#Microsoft.Dynamics.CRM.contact", "contactid": contact["contactid"]})
            if body.get("CreateOpportunity"):
                customer = (
                    ("account", account["accountid"])
                    if account
                    else (("contact", contact["contactid"]) if contact else None)
                )
                opportunity = self.org.create(
                    "opportunity",
                    {
                        "name": lead.get("subject") or lead.get("fullname") or "Opportunity",
                        "customerid": customer,
                        "parentaccountid": ("account", account["accountid"]) if account else None,
                        "parentcontactid": ("contact", contact["contactid"]) if contact else None,
                        "originatingleadid": origin,
                        "ownerid": owner,
                    },
                    user,
                )
                created.append(
                    {
                        "@odata.type": "#Microsoft.Dynamics.CRM.opportunity",
                        "opportunityid": opportunity["opportunityid"],
                    }
                )
            self.org.update(
                "lead",
                lead["leadid"],
                {
                    "statecode": 1,
                    "statuscode": int(body.get("Status", 3)),
                    "parentaccountid": ("account", account["accountid"]) if account else lead.get("parentaccountid"),
                    "parentcontactid": ("contact", contact["contactid"]) if contact else lead.get("parentcontactid"),
                },
                user,
            )
        return json_reply(
            {
                "@odata.context": f"{self._base(request)}{API}/$metadata"
                "#Collection(Microsoft.Dynamics.CRM.crmbaseentity)",
                "value": created,
            }
        )

    # $batch support: run one inner request through the same API frame (without its own limits)

    def run_inner(
        self, method: str, url: str, headers: dict[str, str], body: bytes, user: str, base_request: Request
    ) -> Response:
        path = url.split(API, 1)[1].lstrip("/") if API in url else url.lstrip("/")
        builder = EnvironBuilder(
            path=f"{API}/{path.split('?', 1)[0]}",
            method=method,
            headers=list(headers.items()),
            data=body,
            query_string=path.split("?", 1)[1] if "?" in path else None,
            base_url=base_request.host_url,
        )
        inner = Request(builder.get_environ())
        try:
            return self.dispatch(inner, inner.path[len(API) + 1 :], user)
        except DataverseError as error:
            return error_reply(error)
        except ODataError as error:
            return error_reply(bad_request(str(error)))
