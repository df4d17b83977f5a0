"""Persons: push, query, by id, describe, fields, delete, merge, partitions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common.control import control, json_response
from emulators.marketo.catalogue import (
    CUSTOM_FIELD_TYPES,
    DEFAULT_QUERY_FIELDS,
    MAX_BATCH,
    FieldDef,
)
from emulators.marketo.core import LEAD_ACTIONS, REST, MarketoCore, rest
from emulators.marketo.envelopes import MarketoError, batch_size, envelope, input_records, list_param, skipped
from emulators.marketo.models import (
    decode_token,
    encode_token,
)
from emulators.marketo.push import push_person
from emulators.marketo.wire import is_get_override, json_body, params


class LeadRoutes(MarketoCore):
    @rest(f"{REST}/leads.json", "GET", "POST", "DELETE")
    def on_leads(self, request: Request) -> dict[str, Any]:
        if request.method == "DELETE":  # Marketo's original Delete Leads, still used by clients
            return self.on_leads_delete(request)
        if request.method == "POST" and not is_get_override(request):
            return self._push(request)
        return self._query_leads(params(request))

    def _push(self, request: Request) -> dict[str, Any]:
        body = json_body(request)
        action = body.get("action", "createOrUpdate")
        lookup = body.get("lookupField", "email")
        records = input_records(body)
        if action not in LEAD_ACTIONS:
            raise MarketoError("1003", detail=f"Invalid action '{action}'")
        partition = body.get("partitionName")
        if partition not in (None, "Default"):
            raise MarketoError("1003", detail=f"Partition '{partition}' not found")
        self.pause("push", len(records))
        with self.lock:
            self._searchable(lookup, "lookup field")
            seen: set[Any] = set()
            epoch = self.clock.now()
            results = [push_person(self.persons, raw, action, lookup, seen, epoch) for raw in records]
        return envelope(results)

    def _searchable(self, name: str, what: str) -> None:
        """A lookup field or filterType must be a searchable field: a field that is not is
        "not supported" (1011, Adobe's error codes: "lookup field or filterType specified with
        unsupported standard fields"); a name that is no field at all is invalid (1003)."""
        if name in self.persons.searchable():
            return
        if name in self.persons.fields:
            raise MarketoError("1011", detail=name)
        raise MarketoError("1003", detail=f"Invalid {what} '{name}'")

    def _query_leads(self, query: dict[str, str]) -> dict[str, Any]:
        filter_type = query.get("filterType")
        values = list_param(query.get("filterValues"))
        if not filter_type:
            raise MarketoError("701", detail="filterType")
        if not values:
            raise MarketoError("701", detail="filterValues")
        if len(values) > MAX_BATCH:
            raise MarketoError("1003", detail=f"Too many filterValues, maximum {MAX_BATCH}")
        size = batch_size(query.get("batchSize"))
        offset = 0
        if query.get("nextPageToken"):
            position = decode_token("q", query["nextPageToken"])
            if position is None:
                raise MarketoError("1003", detail="Invalid nextPageToken")
            offset = position
        self.pause("query", len(values))
        with self.lock:
            self._searchable(filter_type, "filterType")
            fields = self._fields_param(query.get("fields"), self.persons.fields, DEFAULT_QUERY_FIELDS)
            ids = sorted({i for v in values for i in self.persons.lookup(filter_type, v)})
            page = ids[offset : offset + size]
            rows = [{f: self.persons.leads[i].get(f) for f in fields} for i in page]
        more = offset + size < len(ids)
        return envelope(
            rows,
            nextPageToken=encode_token("q", offset + size) if more else None,
            moreResult=more if more else None,
        )

    @rest(f"{REST}/lead/<int:lead_id>.json", "GET")
    def on_lead_by_id(self, request: Request, lead_id: int) -> dict[str, Any]:
        with self.lock:
            fields = self._fields_param(request.args.get("fields"), self.persons.fields, DEFAULT_QUERY_FIELDS)
            lead = self.persons.leads.get(lead_id)
            return envelope([] if lead is None else [{f: lead.get(f) for f in fields}])

    @rest(f"{REST}/leads/describe.json", "GET")
    def on_leads_describe(self, request: Request) -> dict[str, Any]:
        self.pause("describe")
        with self.lock:
            return envelope(
                [
                    {
                        "id": n + 1,
                        "displayName": f.display_name,
                        "dataType": f.data_type,
                        **({"length": f.length} if f.length else {}),
                        "rest": {"name": f.name, "readOnly": f.read_only},
                        "soap": {"name": f.name[:1].upper() + f.name[1:], "readOnly": f.read_only},
                    }
                    for n, f in enumerate(self.persons.fields.values())
                ]
            )

    @rest(f"{REST}/leads/describe2.json", "GET")
    def on_leads_describe2(self, request: Request) -> dict[str, Any]:
        self.pause("describe")
        with self.lock:
            fields = [
                {
                    "name": f.name,
                    "displayName": f.display_name,
                    "dataType": f.data_type,
                    **({"length": f.length} if f.length else {}),
                    "updateable": not f.read_only,
                    "crmManaged": False,
                }
                for f in self.persons.fields.values()
            ]
            searchable = [[name] for name in self.persons.searchable()]
        return envelope([{"name": "API Lead", "searchableFields": searchable, "fields": fields}])

    @rest(f"{REST}/leads/schema/fields.json", "GET", "POST")
    def on_lead_fields(self, request: Request) -> dict[str, Any]:
        if request.method == "POST":
            return self._create_fields(json_body(request))
        with self.lock:
            return envelope(
                [
                    {
                        "displayName": f.display_name,
                        "name": f.name,
                        "description": "",
                        "dataType": f.data_type,
                        **({"length": f.length} if f.length else {}),
                        "isHidden": False,
                        "isHtmlEncodingInEmail": True,
                        "isSensitive": False,
                        "isCustom": f.custom,
                        "isApiCreated": f.custom,
                    }
                    for f in self.persons.fields.values()
                ]
            )

    def _create_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        specs = body.get("input")
        if not isinstance(specs, list) or not specs:
            raise MarketoError("701", detail="input")
        results = []
        with self.lock:
            for spec in specs:
                name, display, kind = spec.get("name"), spec.get("displayName"), spec.get("dataType")
                if not name or not display or kind not in CUSTOM_FIELD_TYPES:
                    results.append(skipped("1003", f"Invalid field definition for '{name}'", name=name))
                elif name in self.persons.fields:
                    results.append(skipped("1005", f"Field '{name}'", name=name))
                else:
                    length = int(spec.get("length", 255)) if kind in ("string", "email", "phone", "url") else None
                    self.persons.fields[name] = FieldDef(
                        name,
                        display,
                        kind,
                        length,
                        searchable=kind in ("string", "email", "integer"),
                        custom=True,
                    )
                    results.append({"name": name, "status": "created"})
        return envelope(results)

    @control("fields/lead/<field>", "PATCH")
    def control_field_searchable(self, request: Request, body: Any, field: str) -> Response:
        """{"searchable": false}: the person field is no longer a lookupField or filterType Marketo
        takes (its describe2 no longer lists it), as on instances that do not search custom fields."""
        if not isinstance(body, dict) or not isinstance(body.get("searchable"), bool):
            return json_response({"error": "give 'searchable': true or false"}, 400)
        with self.lock:
            fdef = self.persons.fields.get(field)
            if fdef is None:
                return json_response({"error": f"no person field {field!r}"}, 404)
            self.persons.fields[field] = replace(fdef, searchable=body["searchable"])
        return json_response({"field": field, "searchable": body["searchable"]})

    @rest(f"{REST}/leads/delete.json", "POST")
    def on_leads_delete(self, request: Request) -> dict[str, Any]:
        body = json_body(request)
        records = input_records(body)
        self.pause("delete", len(records))
        results = []
        with self.lock:
            for record in records:
                lead_id = record.get("id") if isinstance(record, dict) else None
                if isinstance(lead_id, int) and lead_id in self.persons.leads:
                    self.persons.delete(lead_id, self.clock.now())
                    results.append({"id": lead_id, "status": "deleted"})
                else:
                    results.append(skipped("1004", "Lead", id=lead_id))
        return envelope(results)

    @rest(f"{REST}/leads/<int:winner_id>/merge.json", "POST")
    def on_leads_merge(self, request: Request, winner_id: int) -> dict[str, Any]:
        losers = [int(x) for x in list_param(request.args.get("leadIds") or request.args.get("leadId"))]
        if not losers:
            raise MarketoError("701", detail="leadId")
        with self.lock:
            for lead_id in [winner_id, *losers]:
                if lead_id not in self.persons.leads:
                    raise MarketoError("1003", detail=f"Lead '{lead_id}' not found")
            for lead_id in losers:
                self.persons.delete(lead_id, self.clock.now())
        return envelope([])

    @rest(f"{REST}/leads/partitions.json", "GET")
    def on_lead_partitions(self, request: Request) -> dict[str, Any]:
        return envelope([{"id": 1, "name": "Default", "description": "Initial Lead Partition"}])

    # activities
