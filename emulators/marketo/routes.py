"""The Marketo emulator's endpoints: identity, leads, activities, Lead Database objects, usage."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from emulators.common.clock import EmulatorClock
from emulators.common.faults import FaultRule
from emulators.common.service import EmulatorService, Latency, json_response
from emulators.marketo import bulk
from emulators.marketo import seed as seeding
from emulators.marketo.catalogue import (
    ACTIVITY_CHANGE_DATA_VALUE,
    ACTIVITY_DELETE_LEAD,
    ACTIVITY_NEW_LEAD,
    CUSTOM_FIELD_TYPES,
    DEFAULT_QUERY_FIELDS,
    DELETED_LEAD_RETENTION_S,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_URI_BYTES,
    STANDARD_OBJECT_TYPES,
    FieldDef,
    ObjectType,
)
from emulators.marketo.models import (
    InvalidValue,
    Limits,
    ObjectDatabase,
    PersonDatabase,
    TokenBook,
    coerce,
    decode_token,
    encode_token,
)
from emulators.marketo.wire import (
    MarketoError,
    batch_size,
    envelope,
    error_envelope,
    input_records,
    is_get_override,
    json_body,
    list_param,
    params,
    reply,
    skipped,
)

LEAD_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate", "createDuplicate")
OBJECT_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate")
API_SOURCE = "Web service API"
SCAN_PER_CALL = 1000  # activities examined per call: pages may hold fewer than batchSize, as on Marketo
DATA_NAMES = {
    "company": "companies",
    "opportunity": "opportunities",
    "opportunityrole": "opportunities/roles",
    "salesperson": "salespersons",
}


class MarketoService(EmulatorService):
    name = "marketo"

    def __init__(
        self,
        clock: EmulatorClock,
        latency: Latency = Latency.NONE,
        *,
        client_id: str = "marketo-emulator-client",
        client_secret: str = "marketo-emulator-secret",  # noqa: S107 - the emulator's own credential
        custom_object_types: Iterable[ObjectType] = (),
        calls: int = 100,
        window_s: float = 20.0,
        concurrency: int = 10,
        daily_quota: int = 50_000,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.custom_object_types = tuple(custom_object_types)
        self.limit_settings = {
            "calls": calls,
            "window_s": window_s,
            "concurrency": concurrency,
            "daily_quota": daily_quota,
        }
        super().__init__(clock, latency)
        self.reset()

    # state

    def reset(self) -> None:
        self.persons = PersonDatabase()
        self.standard_objects: dict[str, ObjectDatabase] = {t.name: ObjectDatabase(t) for t in STANDARD_OBJECT_TYPES}
        self.custom_objects = {t.name: ObjectDatabase(t) for t in self.custom_object_types}
        self.tokens = TokenBook(self.clock)
        self.imports: dict[int, bulk.ImportJob] = {}
        self.exports: dict[str, bulk.ExportJob] = {}
        self.export_bytes: dict[str, int] = {}
        self.limits = Limits(self.clock, **self.limit_settings)  # type: ignore[arg-type]

    def seed_names(self) -> tuple[str, ...]:
        return ("lead", "company", "opportunity", "salesperson")

    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]:
        return seeding.seed(self, counts, seed)

    def data(self, name: str) -> list[dict[str, Any]] | None:
        if name == "lead":
            return list(self.persons.leads.values())
        if name in DATA_NAMES:
            return list(self.standard_objects[DATA_NAMES[name]].records.values())
        if name.startswith("customobject/") and name.split("/", 1)[1] in self.custom_objects:
            return list(self.custom_objects[name.split("/", 1)[1]].records.values())
        return None

    def ready_info(self, url: str, ca_file: str | None) -> dict[str, Any]:
        return {
            "service": "marketo",
            "url": url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "ca_file": ca_file,
        }

    # routing

    def rules(self) -> Iterable[Rule]:
        rest = "/rest/v1"
        yield Rule("/identity/oauth/token", endpoint="identity_token", methods=["GET", "POST"])
        yield Rule(f"{rest}/leads.json", endpoint="leads", methods=["GET", "POST", "DELETE"])
        yield Rule(f"{rest}/lead/<int:lead_id>.json", endpoint="lead_by_id", methods=["GET"])
        yield Rule(f"{rest}/leads/describe.json", endpoint="leads_describe", methods=["GET"])
        yield Rule(f"{rest}/leads/describe2.json", endpoint="leads_describe2", methods=["GET"])
        yield Rule(f"{rest}/leads/schema/fields.json", endpoint="lead_fields", methods=["GET", "POST"])
        yield Rule(f"{rest}/leads/delete.json", endpoint="leads_delete", methods=["POST"])
        yield Rule(f"{rest}/leads/<int:winner_id>/merge.json", endpoint="leads_merge", methods=["POST"])
        yield Rule(f"{rest}/leads/partitions.json", endpoint="lead_partitions", methods=["GET"])
        yield Rule(f"{rest}/activities/pagingtoken.json", endpoint="paging_token", methods=["GET"])
        yield Rule(f"{rest}/activities.json", endpoint="activities", methods=["GET"])
        yield Rule(f"{rest}/activities/leadchanges.json", endpoint="lead_changes", methods=["GET"])
        yield Rule(f"{rest}/activities/deletedleads.json", endpoint="deleted_leads", methods=["GET"])
        yield Rule(f"{rest}/stats/usage.json", endpoint="usage", methods=["GET"])
        for otype in STANDARD_OBJECT_TYPES:
            base = f"{rest}/{otype.name}"
            defaults = {"kind": "standard", "name": otype.name}
            yield Rule(f"{base}.json", endpoint="objects", methods=["GET", "POST"], defaults=defaults)
            yield Rule(f"{base}/delete.json", endpoint="objects_delete", methods=["POST"], defaults=defaults)
            yield Rule(f"{base}/describe.json", endpoint="objects_describe", methods=["GET"], defaults=defaults)
        yield Rule(f"{rest}/customobjects.json", endpoint="custom_object_types", methods=["GET"])
        yield Rule("/bulk/v1/leads.json", endpoint="bulk_import", methods=["POST"])
        yield Rule("/bulk/v1/leads/batch/<int:batch_id>.json", endpoint="bulk_import_status", methods=["GET"])
        yield Rule(
            "/bulk/v1/leads/batch/<int:batch_id>/<any(failures, warnings):kind>.json",
            endpoint="bulk_import_rows",
            methods=["GET"],
        )
        yield Rule("/bulk/v1/leads/export/create.json", endpoint="bulk_export_create", methods=["POST"])
        yield Rule(
            "/bulk/v1/leads/export/<export_id>/<any(enqueue, cancel):verb>.json",
            endpoint="bulk_export_verb",
            methods=["POST"],
        )
        yield Rule("/bulk/v1/leads/export/<export_id>/status.json", endpoint="bulk_export_status", methods=["GET"])
        yield Rule("/bulk/v1/leads/export/<export_id>/file.json", endpoint="bulk_export_file", methods=["GET"])
        custom = {"kind": "custom"}
        yield Rule(f"{rest}/customobjects/<name>.json", endpoint="objects", methods=["GET", "POST"], defaults=custom)
        yield Rule(
            f"{rest}/customobjects/<name>/delete.json",
            endpoint="objects_delete",
            methods=["POST"],
            defaults=custom,
        )
        yield Rule(
            f"{rest}/customobjects/<name>/describe.json",
            endpoint="objects_describe",
            methods=["GET"],
            defaults=custom,
        )

    def is_write(self, request: Request) -> bool:
        if request.method == "DELETE":
            return True
        return request.method == "POST" and not is_get_override(request) and "/identity/" not in request.path

    def not_found(self, request: Request) -> Response:
        return Response("<html><body><h1>404 Not Found</h1></body></html>", status=404, mimetype="text/html")

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        if rule.status is not None and rule.status != 200:
            return Response(
                rule.message or "", status=rule.status, headers=rule.retry_after_headers(), mimetype="text/plain"
            )
        code = rule.error_code or "611"
        if rule.message:
            message = rule.message
        else:
            try:
                message = MarketoError(
                    code,
                    calls=self.limits.calls,
                    window=int(self.limits.window_s),
                    concurrency=self.limits.concurrency,
                    detail="Injected fault",
                ).message
            except KeyError:
                message = "Injected fault"
        if code in ("606", "607", "615"):
            self.stats.count_throttled()
        return reply(error_envelope(code, message))

    # the REST frame: size limits, token, rate / concurrency / quota, envelope

    def _rest(
        self,
        request: Request,
        handler: Callable[[], dict[str, Any] | Response],
        max_body: int = MAX_BODY_BYTES,
    ) -> Response:
        if request.content_length and request.content_length > max_body:
            return Response("<html><body>413 Request Entity Too Large</body></html>", status=413, mimetype="text/html")
        if len(request.full_path.encode()) > MAX_URI_BYTES:
            return Response("<html><body>414 Request-URI Too Long</body></html>", status=414, mimetype="text/html")
        header = request.headers.get("Authorization", "")
        token = (
            header[7:].strip()
            if header.lower().startswith("bearer ")
            else request.args.get("access_token") or request.form.get("access_token")
        )
        with self.lock:
            problem = self.tokens.check(token)
            if problem is None:
                problem, slot = self.limits.enter()
            if problem is not None:
                if problem in ("606", "607", "615"):
                    self.stats.count_throttled()
                error = MarketoError(
                    problem,
                    calls=self.limits.calls,
                    window=int(self.limits.window_s),
                    concurrency=self.limits.concurrency,
                )
                return reply(error_envelope(error.code, error.message))
        assert slot is not None
        success = False
        try:
            self.serve_injected_delay(request)
            answer = handler()
            if isinstance(answer, Response):  # bulk files: CSV, not an envelope
                success = answer.status_code < 300
                return answer
            body = answer
            success = bool(body.get("success"))
        except MarketoError as error:
            body = error_envelope(error.code, error.message)
        finally:
            with self.lock:
                self.limits.leave(slot, counted=success)
        return reply(body)

    # identity

    def on_identity_token(self, request: Request) -> Response:
        values = {**request.args, **request.form}
        if values.get("grant_type") != "client_credentials":
            return json_response(
                {"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400
            )
        if values.get("client_id") != self.client_id or values.get("client_secret") != self.client_secret:
            return json_response({"error": "unauthorized", "error_description": "Bad client credentials"}, 401)
        with self.lock:
            token, expires_in = self.tokens.issue()
        return json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": expires_in,
                "scope": "sync-api@example.com",
            }
        )

    # leads

    def on_leads(self, request: Request) -> Response:
        if request.method == "DELETE":  # Marketo's original Delete Leads, still used by clients
            return self.on_leads_delete(request)
        if request.method == "POST" and not is_get_override(request):
            return self._rest(request, lambda: self._push(request))
        return self._rest(request, lambda: self._query_leads(params(request)))

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
        self.pause(0.25 + 0.004 * len(records))
        with self.lock:
            if lookup not in self.persons.searchable():
                raise MarketoError("1003", detail=f"Invalid lookup field '{lookup}'")
            seen: set[Any] = set()
            results = [self._push_one(raw, action, lookup, seen) for raw in records]
        return envelope(results)

    def _push_one(self, raw: Any, action: str, lookup: str, seen: set[Any]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            return skipped("1003", "Invalid record")
        values: dict[str, Any] = {}
        for name, value in raw.items():
            fdef = self.persons.fields.get(name)
            if fdef is None:
                return skipped("1006", name)
            if name == "id":
                if action != "updateOnly":
                    return skipped("1003", "Field 'id' may only be given with action updateOnly")
                continue
            if fdef.read_only:
                continue
            try:
                values[name] = coerce(fdef, value)
            except InvalidValue as exc:
                return skipped("1003", str(exc))
        epoch = self.clock.now()
        if action == "createDuplicate":
            return {"id": self.persons.create(values, epoch, API_SOURCE), "status": "created"}
        key = raw.get(lookup)
        if key in (None, ""):
            if action == "updateOnly":
                return skipped("1003", f"Value for lookup field '{lookup}' not specified")
            return {"id": self.persons.create(values, epoch, API_SOURCE), "status": "created"}
        dedupe = str(key).lower()
        if dedupe in seen:
            return skipped("1036")
        seen.add(dedupe)
        matches = self.persons.lookup(lookup, key)
        if len(matches) > 1:
            return skipped("1007")
        if action == "createOnly" and matches:
            return skipped("1005", "Lead")
        if action == "updateOnly" and not matches:
            return skipped("1004", "Lead")
        if matches:
            self.persons.update(matches[0], values, epoch, API_SOURCE)
            return {"id": matches[0], "status": "updated"}
        return {"id": self.persons.create(values, epoch, API_SOURCE), "status": "created"}

    def _fields_param(self, raw: str | None, known: dict[str, FieldDef], default: Iterable[str]) -> list[str]:
        fields = list_param(raw) or list(default)
        for name in fields:
            if name not in known:
                raise MarketoError("1003", detail=f"Field '{name}' not found")
        return fields

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
        self.pause(0.15 + 0.001 * len(values))
        with self.lock:
            if filter_type not in self.persons.searchable():
                raise MarketoError("1003", detail=f"Invalid filterType '{filter_type}'")
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

    def on_lead_by_id(self, request: Request, lead_id: int) -> Response:
        def handler() -> dict[str, Any]:
            with self.lock:
                fields = self._fields_param(request.args.get("fields"), self.persons.fields, DEFAULT_QUERY_FIELDS)
                lead = self.persons.leads.get(lead_id)
                return envelope([] if lead is None else [{f: lead.get(f) for f in fields}])

        return self._rest(request, handler)

    def on_leads_describe(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            self.pause(0.2)
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

        return self._rest(request, handler)

    def on_leads_describe2(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            self.pause(0.2)
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

        return self._rest(request, handler)

    def on_lead_fields(self, request: Request) -> Response:
        if request.method == "GET":

            def listing() -> dict[str, Any]:
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

            return self._rest(request, listing)
        return self._rest(request, lambda: self._create_fields(json_body(request)))

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

    def on_leads_delete(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            body = json_body(request)
            records = input_records(body)
            self.pause(0.25 + 0.002 * len(records))
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

        return self._rest(request, handler)

    def on_leads_merge(self, request: Request, winner_id: int) -> Response:
        def handler() -> dict[str, Any]:
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

        return self._rest(request, handler)

    def on_lead_partitions(self, request: Request) -> Response:
        return self._rest(
            request, lambda: envelope([{"id": 1, "name": "Default", "description": "Initial Lead Partition"}])
        )

    # activities

    def on_paging_token(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            since = request.args.get("sinceDatetime")
            if not since:
                raise MarketoError("701", detail="sinceDatetime")
            try:
                moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                raise MarketoError("1003", detail=f"Invalid sinceDatetime '{since}'") from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            with self.lock:
                position = self.persons.activities.position_since(moment.timestamp())
            return envelope(None, nextPageToken=encode_token("a", position))

        return self._rest(request, handler)

    def _scan(self, request: Request, wanted: Callable[[Any], bool], generic: bool = False) -> dict[str, Any]:
        token = request.args.get("nextPageToken")
        if not token:
            raise MarketoError("701", detail="nextPageToken")
        position = decode_token("a", token)
        if position is None:
            raise MarketoError("1003", detail="Invalid nextPageToken")
        size = batch_size(request.args.get("batchSize"))
        self.pause(0.3)
        with self.lock:
            items = self.persons.activities.items
            found: list[Any] = []
            end = min(len(items), position + SCAN_PER_CALL)
            cursor = position
            while cursor < end and len(found) < size:
                if wanted(items[cursor]):
                    found.append(items[cursor])
                cursor += 1
            more = cursor < len(items)
        shaped = [a.generic_wire() if generic else a.wire() for a in found]
        return envelope(shaped, nextPageToken=encode_token("a", cursor), moreResult=more)

    def on_lead_changes(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            fields = set(list_param(request.args.get("fields")))
            if not fields:
                raise MarketoError("701", detail="fields")
            lead_ids = {int(x) for x in list_param(request.args.get("leadIds"))}

            def wanted(activity: Any) -> bool:
                if lead_ids and activity.lead_id not in lead_ids:
                    return False
                if activity.type_id == ACTIVITY_NEW_LEAD:
                    return True
                return activity.type_id == ACTIVITY_CHANGE_DATA_VALUE and activity.fields[0]["name"] in fields

            return self._scan(request, wanted)

        return self._rest(request, handler)

    def on_activities(self, request: Request) -> Response:
        """Activities of up to 10 types after a paging token (deletions older than 14 days pruned)."""

        def handler() -> dict[str, Any]:
            raw = list_param(request.args.get("activityTypeIds"))
            if not raw:
                raise MarketoError("701", detail="activityTypeIds")
            try:
                types = {int(x) for x in raw}
            except ValueError:
                raise MarketoError(
                    "1003", detail=f"Invalid activityTypeIds '{request.args['activityTypeIds']}'"
                ) from None
            if len(types) > 10:
                raise MarketoError("1003", detail="activityTypeIds may hold at most 10 ids")
            lead_ids = {int(x) for x in list_param(request.args.get("leadIds"))}
            if len(lead_ids) > 30:
                raise MarketoError("1003", detail="leadIds may hold at most 30 ids")
            horizon = self.clock.now() - DELETED_LEAD_RETENTION_S

            def wanted(activity: Any) -> bool:
                if activity.type_id not in types or (lead_ids and activity.lead_id not in lead_ids):
                    return False
                return bool(activity.type_id != ACTIVITY_DELETE_LEAD or activity.epoch >= horizon)

            return self._scan(request, wanted, generic=True)

        return self._rest(request, handler)

    def on_deleted_leads(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            horizon = self.clock.now() - DELETED_LEAD_RETENTION_S
            return self._scan(request, lambda a: a.type_id == ACTIVITY_DELETE_LEAD and a.epoch >= horizon)

        return self._rest(request, handler)

    def on_usage(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            with self.lock:
                today = self.limits.today()
                total = self.limits.daily.get(today, 0)
            return envelope(
                [
                    {
                        "date": today,
                        "total": total,
                        "users": [{"userId": "sync-api@example.com", "count": total}],
                    }
                ]
            )

        return self._rest(request, handler)

    # Lead Database objects (companies, opportunities, roles, sales persons, custom objects)

    def _database(self, kind: str, name: str) -> ObjectDatabase:
        found = (self.standard_objects if kind == "standard" else self.custom_objects).get(name)
        if found is None:
            raise MarketoError("1003", detail=f"Custom object '{name}' not found")
        return found

    def on_custom_object_types(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            with self.lock:
                described = [self._describe(db) for db in self.custom_objects.values()]
            return envelope(described)

        return self._rest(request, handler)

    def on_objects(self, request: Request, kind: str, name: str) -> Response:
        if request.method == "POST" and not is_get_override(request):
            return self._rest(request, lambda: self._sync_objects(self._database(kind, name), json_body(request)))
        return self._rest(request, lambda: self._query_objects(self._database(kind, name), request))

    def _sync_objects(self, db: ObjectDatabase, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action", "createOrUpdate")
        dedupe_by = body.get("dedupeBy", "dedupeFields")
        records = input_records(body)
        if action not in OBJECT_ACTIONS:
            raise MarketoError("1003", detail=f"Invalid action '{action}'")
        if dedupe_by not in ("dedupeFields", "idField"):
            raise MarketoError("1003", detail=f"Invalid dedupeBy '{dedupe_by}'")
        self.pause(0.2 + 0.003 * len(records))
        with self.lock:
            return envelope([self._sync_one(db, seq, raw, action, dedupe_by) for seq, raw in enumerate(records)])

    def _sync_one(self, db: ObjectDatabase, seq: int, raw: Any, action: str, dedupe_by: str) -> dict[str, Any]:
        otype = db.type
        if not isinstance(raw, dict):
            return skipped("1003", "Invalid record", seq=seq)
        values: dict[str, Any] = {}
        for field_name, value in raw.items():
            fdef = db.fields.get(field_name)
            if fdef is None:
                return skipped("1006", field_name, seq=seq)
            if fdef.read_only and field_name != otype.id_field:
                continue
            try:
                values[field_name] = value if field_name == otype.id_field else coerce(fdef, value)
            except InvalidValue as exc:
                return skipped("1003", str(exc), seq=seq)
        if dedupe_by == "idField":
            record_id = values.pop(otype.id_field, None)
            if record_id is None:
                return skipped("1003", f"Value for field '{otype.id_field}' is required", seq=seq)
            if action == "createOnly":
                return skipped("1003", "dedupeBy idField cannot be used with createOnly", seq=seq)
            existing = record_id if record_id in db.records else None
        else:
            values.pop(otype.id_field, None)
            missing = [f for f in otype.dedupe_fields if values.get(f) is None]
            if missing:
                return skipped("1003", f"Value for required field '{missing[0]}' not specified", seq=seq)
            existing = db.by_dedupe(values)
        if existing is not None:
            if action == "createOnly":
                return skipped("1005", otype.display_name or otype.name, seq=seq)
            db.update(existing, values, self.clock.now())
            return {"seq": seq, "status": "updated", otype.id_field: existing}
        if action == "updateOnly":
            return skipped("1013", seq=seq)
        missing = [f for f in otype.required if values.get(f) is None]
        if missing:
            return skipped("1003", f"Value for required field '{missing[0]}' not specified", seq=seq)
        return {"seq": seq, "status": "created", otype.id_field: db.create(values, self.clock.now())}

    def _query_objects(self, db: ObjectDatabase, request: Request) -> dict[str, Any]:
        otype = db.type
        if request.method == "POST" and request.is_json:  # ?_method=GET with a JSON body: compound keys
            body = json_body(request)
            filter_type = body.get("filterType")
            raw_fields = ",".join(body.get("fields") or [])
            inputs = body.get("input") or []
            token, size_raw = body.get("nextPageToken"), body.get("batchSize")
        else:
            query = params(request)
            filter_type = query.get("filterType")
            raw_fields = query.get("fields") or ""
            inputs = list_param(query.get("filterValues"))
            token, size_raw = query.get("nextPageToken"), query.get("batchSize")
        if not filter_type:
            raise MarketoError("701", detail="filterType")
        keys = {"dedupeFields": otype.dedupe_fields, "idField": (otype.id_field,)}.get(
            filter_type, tuple(filter_type.split(","))
        )
        if keys not in otype.searchable and keys not in (otype.dedupe_fields, (otype.id_field,)):
            raise MarketoError("1003", detail=f"Invalid filterType '{filter_type}'")
        if not inputs:
            raise MarketoError("701", detail="filterValues")
        if len(inputs) > MAX_BATCH:
            raise MarketoError("1003", detail=f"Too many filterValues, maximum {MAX_BATCH}")
        size = batch_size(None if size_raw is None else str(size_raw))
        offset = decode_token("q", token) if token else 0
        if offset is None:
            raise MarketoError("1003", detail="Invalid nextPageToken")
        fields = self._fields_param(
            raw_fields, db.fields, (otype.id_field, *otype.dedupe_fields, "createdAt", "updatedAt")
        )
        self.pause(0.15)
        with self.lock:
            matches: list[dict[str, Any]] = []
            for item in inputs:
                wanted = tuple(item.get(k) for k in keys) if isinstance(item, dict) else (item,)
                if len(wanted) != len(keys):
                    raise MarketoError("1003", detail=f"filterType '{filter_type}' needs objects with {list(keys)}")
                matches.extend(db.find(keys, wanted))
            page = matches[offset : offset + size]
            rows = [{"seq": n + offset, **{f: r.get(f) for f in fields}} for n, r in enumerate(page)]
        more = offset + size < len(matches)
        return envelope(rows, nextPageToken=encode_token("q", offset + size) if more else None)

    def on_objects_delete(self, request: Request, kind: str, name: str) -> Response:
        def handler() -> dict[str, Any]:
            db = self._database(kind, name)
            body = json_body(request)
            delete_by = body.get("deleteBy", "dedupeFields")
            records = input_records(body)
            if delete_by not in ("dedupeFields", "idField"):
                raise MarketoError("1003", detail=f"Invalid deleteBy '{delete_by}'")
            results = []
            with self.lock:
                for seq, record in enumerate(records):
                    if delete_by == "idField":
                        target = record.get(db.type.id_field) if isinstance(record, dict) else None
                        target = target if target in db.records else None
                    else:
                        target = db.by_dedupe(record) if isinstance(record, dict) else None
                    if target is None:
                        results.append(skipped("1013", seq=seq))
                    else:
                        db.delete(target)
                        results.append({"seq": seq, "status": "deleted", db.type.id_field: target})
            return envelope(results)

        return self._rest(request, handler)

    def _describe(self, db: ObjectDatabase) -> dict[str, Any]:
        otype = db.type
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        display = otype.display_name or otype.name
        return {
            "name": otype.name,
            "apiName": otype.name,
            "displayName": display,
            "pluralName": f"{display}s",
            "description": f"{display} records",
            "createdAt": now,
            "updatedAt": now,
            "idField": otype.id_field,
            "dedupeFields": list(otype.dedupe_fields),
            "searchableFields": [list(s) for s in otype.searchable],
            "relationships": list(otype.relationships),
            # Swagger requires `status` but defines `state`: both are sent
            "status": "approved",
            "state": "approved",
            "version": "approved",
            "fields": [
                {
                    "name": f.name,
                    "displayName": f.display_name,
                    "dataType": f.data_type,
                    **({"length": f.length} if f.length else {}),
                    "updateable": not f.read_only,
                }
                for f in db.fields.values()
            ],
        }

    def on_objects_describe(self, request: Request, kind: str, name: str) -> Response:
        def handler() -> dict[str, Any]:
            with self.lock:
                return envelope([self._describe(self._database(kind, name))])

        return self._rest(request, handler)

    # bulk import and extract

    def _advance_bulk(self) -> None:
        """Move jobs along their lifecycles on the emulator clock (called under the lock)."""
        now = self.clock.now()
        queue_s = self.clock.scaled(bulk.QUEUE_S)
        for job in sorted(self.imports.values(), key=lambda j: j.batch_id):
            if job.status == "Importing" and now - (job.started or now) >= self.clock.scaled(
                len(job.rows) / bulk.ROWS_PER_S
            ):
                seen: set[Any] = set()
                for row in job.rows:
                    values = {k: v for k, v in row.items() if v not in ("", "null")}
                    outcome = self._push_one(values, "createOrUpdate", job.lookup_field, seen)
                    if outcome["status"] == "skipped":
                        job.failures.append((row, outcome["reasons"][0]["message"]))
                    else:
                        job.processed += 1
                job.status = "Complete"
            importing = sum(1 for j in self.imports.values() if j.status == "Importing")
            if job.status == "Queued" and now - job.created >= queue_s and importing < bulk.MAX_RUNNING:
                job.status, job.started = "Importing", now
        for export in sorted(self.exports.values(), key=lambda e: e.created):
            processing = sum(1 for e in self.exports.values() if e.status == "Processing")
            if export.status == "Queued" and now - (export.queued or now) >= queue_s and processing < bulk.MAX_RUNNING:
                export.status, export.started = "Processing", now
            if export.status == "Processing" and now - (export.started or now) >= queue_s:
                name, start, end = export.window
                rows = [
                    lead
                    for lead in self.persons.leads.values()
                    if start.strftime("%Y-%m-%dT%H:%M:%SZ") <= str(lead.get(name)) < end.strftime("%Y-%m-%dT%H:%M:%SZ")
                ]
                export.file = bulk.to_csv(rows, export.fields)
                export.records = len(rows)
                day = self.limits.today()
                self.export_bytes[day] = self.export_bytes.get(day, 0) + len(export.file)
                export.status = "Completed"

    def on_bulk_import(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            if request.args.get("format", "csv").lower() != "csv":
                raise MarketoError("1003", detail="Only format=csv is supported by this emulator")
            upload = request.files.get("file")
            if upload is None:
                raise MarketoError("701", detail="file")
            data = upload.read()
            if len(data) > bulk.MAX_IMPORT_BYTES:
                raise MarketoError("1003", detail="File size exceeds 10 MB")
            lookup = request.args.get("lookupField") or request.form.get("lookupField") or "email"
            with self.lock:
                self._advance_bulk()
                if lookup not in self.persons.searchable():
                    raise MarketoError("1003", detail=f"Invalid lookup field '{lookup}'")
                if sum(1 for j in self.imports.values() if j.status == "Queued") >= bulk.MAX_QUEUED:
                    raise MarketoError("1016")
                try:
                    rows = bulk.parse_csv(data)
                except (UnicodeDecodeError, csv.Error) as exc:
                    raise MarketoError("1003", detail=f"Invalid CSV file: {exc}") from None
                job = bulk.ImportJob(len(self.imports) + 1, rows, lookup, self.clock.now())
                self.imports[job.batch_id] = job
                return envelope([job.wire()])

        return self._rest(request, handler, max_body=bulk.MAX_IMPORT_BYTES + 64 * 1024)

    def _import_job(self, batch_id: int) -> bulk.ImportJob:
        self._advance_bulk()
        job = self.imports.get(batch_id)
        if job is None:
            raise MarketoError("1003", detail=f"Import batch {batch_id} not found")
        return job

    def on_bulk_import_status(self, request: Request, batch_id: int) -> Response:
        def handler() -> dict[str, Any]:
            with self.lock:
                return envelope([self._import_job(batch_id).wire()])

        return self._rest(request, handler)

    def on_bulk_import_rows(self, request: Request, batch_id: int, kind: str) -> Response:
        def handler() -> Response:
            with self.lock:
                job = self._import_job(batch_id)
                if job.status != "Complete":
                    raise MarketoError("1003", detail=f"Import batch {batch_id} is {job.status}, not Complete")
                items = job.failures if kind == "failures" else job.warnings
                reason = "Import Failure Reason" if kind == "failures" else "Import Warning Reason"
                return Response(bulk.failure_csv(items, reason), mimetype="text/csv")

        return self._rest(request, handler)

    def on_bulk_export_create(self, request: Request) -> Response:
        def handler() -> dict[str, Any]:
            body = json_body(request)
            fields = body.get("fields") or list(DEFAULT_QUERY_FIELDS)
            window = body.get("filter") or {}
            names = [n for n in ("createdAt", "updatedAt") if n in window]
            if len(names) != 1:
                raise MarketoError("1003", detail="filter needs exactly one of createdAt or updatedAt")
            try:
                start = datetime.fromisoformat(str(window[names[0]]["startAt"]).replace("Z", "+00:00"))
                end = datetime.fromisoformat(str(window[names[0]]["endAt"]).replace("Z", "+00:00"))
            except (KeyError, TypeError, ValueError):
                raise MarketoError("1003", detail="filter needs startAt and endAt as ISO-8601 date-times") from None
            if (end - start).total_seconds() > bulk.MAX_WINDOW_S or end <= start:
                raise MarketoError("1003", detail="Date range must be positive and at most 31 days")
            with self.lock:
                unknown = [f for f in fields if f not in self.persons.fields]
                if unknown:
                    raise MarketoError("1003", detail=f"Field '{unknown[0]}' not found")
                export = bulk.ExportJob(str(uuid.uuid4()), list(fields), (names[0], start, end), self.clock.now())
                self.exports[export.export_id] = export
                return envelope([export.wire()])

        return self._rest(request, handler)

    def _export_job(self, export_id: str) -> bulk.ExportJob:
        self._advance_bulk()
        export = self.exports.get(export_id)
        if export is None:
            raise MarketoError("1003", detail=f"Export '{export_id}' not found")
        return export

    def on_bulk_export_verb(self, request: Request, export_id: str, verb: str) -> Response:
        def handler() -> dict[str, Any]:
            with self.lock:
                export = self._export_job(export_id)
                if verb == "cancel":
                    export.status = "Cancelled"
                    return envelope([export.wire()])
                if export.status != "Created":
                    raise MarketoError(
                        "1003", detail=f"Export is {export.status}; only a Created export can be enqueued"
                    )
                if self.export_bytes.get(self.limits.today(), 0) >= bulk.EXPORT_DAILY_BYTES:
                    raise MarketoError("1029", detail="Export daily quota 500MB exceeded")
                if sum(1 for e in self.exports.values() if e.status == "Queued") >= bulk.MAX_QUEUED:
                    raise MarketoError("1029", detail="Too many jobs (10) in queue")
                export.status, export.queued = "Queued", self.clock.now()
                return envelope([export.wire()])

        return self._rest(request, handler)

    def on_bulk_export_status(self, request: Request, export_id: str) -> Response:
        def handler() -> dict[str, Any]:
            with self.lock:
                return envelope([self._export_job(export_id).wire()])

        return self._rest(request, handler)

    def on_bulk_export_file(self, request: Request, export_id: str) -> Response:
        def handler() -> Response:
            with self.lock:
                export = self._export_job(export_id)
                if export.status != "Completed" or export.file is None:
                    raise MarketoError("1003", detail=f"Export is {export.status}; the file exists once Completed")
                data = export.file
            response = Response(data, mimetype="text/csv")
            response.headers["Accept-Ranges"] = "bytes"
            return response.make_conditional(request, accept_ranges=True, complete_length=len(data))

        return self._rest(request, handler)


def load_custom_object_types(path: Path) -> list[ObjectType]:
    """Custom object types from a seed file: [{"name", "displayName", "dedupeFields", "fields": [{"name",
    "dataType"}], "relationships": [...]}]; marketoGUID is the id field, as on Marketo."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    types = []
    for spec in raw:
        fields = [FieldDef("marketoGUID", "Marketo GUID", "string", 36, read_only=True)]
        fields += [
            FieldDef(
                f["name"],
                f.get("displayName", f["name"]),
                f.get("dataType", "string"),
                255 if f.get("dataType", "string") in ("string", "email", "phone", "url") else None,
            )
            for f in spec["fields"]
        ]
        fields += [
            FieldDef("createdAt", "Created At", "datetime", read_only=True),
            FieldDef("updatedAt", "Updated At", "datetime", read_only=True),
        ]
        dedupe = tuple(spec["dedupeFields"])
        types.append(
            ObjectType(
                name=spec["name"],
                id_field="marketoGUID",
                dedupe_fields=dedupe,
                fields=tuple(fields),
                searchable=(dedupe, ("marketoGUID",)),
                display_name=spec.get("displayName", spec["name"]),
                relationships=tuple(spec.get("relationships", ())),
            )
        )
    return types
