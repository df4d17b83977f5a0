"""The Dataverse emulator's endpoints: /api/data/v9.2 (queries, change tracking, writes, bulk
actions, QualifyLead, metadata, $batch) and Entra ID's token endpoint on the same host."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from emulators.common.clock import EmulatorClock
from emulators.common.faults import FaultRule
from emulators.common.service import EmulatorService, Latency, json_response
from emulators.dataverse import batch as batching
from emulators.dataverse import metadata
from emulators.dataverse import seed as seeding
from emulators.dataverse.catalogue import STANDARD_TABLES, TableDef
from emulators.dataverse.identity import EntraId
from emulators.dataverse.models import DataverseError, Organization, Row, not_found
from emulators.dataverse.odata import ODataError, compile_filter, parse_list, parse_orderby
from emulators.dataverse.wire import (
    Prefer,
    bad_request,
    decode_token,
    delta_token,
    encode_token,
    error_reply,
    json_reply,
    lookup_property,
    parse_delta_token,
    parse_payload,
    parse_prefer,
    serialize,
    serializer,
)

API = "/api/data/v9.2"
REFUSED_WITH_TRACKING = ("$filter", "$orderby", "$expand", "$top")
_KEY = re.compile(
    r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>[^)]*)\))?(?:/Microsoft\.Dynamics\.CRM\.(?P<action>\w+))?$"
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
COUNT_LIMIT = 5000
EXPIRED = "Version stamp associated with the client has expired. Please perform a full sync."


def _sort_key(getter: Any) -> Any:
    """Nulls first (ascending), then values: Dataverse's SQL ordering."""

    def key(row: Row) -> tuple[bool, Any]:
        value = getter(row)
        return (value is not None, value if value is not None else "")

    return key


class ServiceProtection:
    """Per user: 6,000 requests per 300 s sliding window and 52 concurrent requests → 429."""

    def __init__(
        self, clock: EmulatorClock, requests: int = 6000, window_s: float = 300.0, concurrent: int = 52
    ) -> None:
        self.clock, self.requests, self.window_s, self.concurrent = clock, requests, window_s, concurrent
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}
        self._open: dict[str, int] = {}

    def enter(self, user: str) -> DataverseError | None:
        with self._lock:
            now = self.clock.monotonic()
            window = self.clock.scaled(self.window_s)
            seen = self._seen.setdefault(user, deque())
            while seen and seen[0] <= now - window:
                seen.popleft()
            if self._open.get(user, 0) >= self.concurrent:
                return DataverseError(
                    429,
                    "0x80072326",
                    f"Number of concurrent requests exceeded the limit of {self.concurrent}.",
                    {"Retry-After": "1"},
                )
            if len(seen) >= self.requests:
                retry = max(1, int(seen[0] + window - now + 0.999))
                return DataverseError(
                    429,
                    "0x80072322",
                    f"Number of requests exceeded the limit of {self.requests} over time window "
                    f"of {int(self.window_s)} seconds.",
                    {"Retry-After": str(retry)},
                )
            seen.append(now)
            self._open[user] = self._open.get(user, 0) + 1
            return None

    def leave(self, user: str) -> None:
        with self._lock:
            self._open[user] = self._open.get(user, 1) - 1


class DataverseService(EmulatorService):
    name = "dataverse"

    def __init__(
        self,
        clock: EmulatorClock,
        latency: Latency = Latency.NONE,
        *,
        custom_tables: Iterable[TableDef] = (),
        tenant_id: str = "7d8a2a0e-9c51-4a0b-8d38-2b9a3d5e1f00",
        client_id: str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        client_secret: str = "dataverse-emulator-secret",  # noqa: S107 - the emulator's own credential
        requests_per_window: int = 6000,
        window_s: float = 300.0,
        concurrent: int = 52,
        change_tracking_expiry_days: float = 7.0,
    ) -> None:
        self.table_defs = [*STANDARD_TABLES, *custom_tables]
        self.tenant_id, self.client_id, self.client_secret = tenant_id, client_id, client_secret
        self.app_user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"app-user:{client_id}"))
        self.protection_settings = {
            "requests": requests_per_window,
            "window_s": window_s,
            "concurrent": concurrent,
        }
        self.change_tracking_expiry_days = change_tracking_expiry_days
        self.base_url = ""
        super().__init__(clock, latency)
        self.reset()

    # state

    def reset(self) -> None:
        self.org = Organization(self.clock, self.table_defs)
        self.identity = EntraId(self.clock, self.tenant_id, self.client_id, self.client_secret, self.app_user_id)
        self.protection = ServiceProtection(self.clock, **self.protection_settings)  # type: ignore[arg-type]
        self.org.create(
            "systemuser",
            {
                "firstname": "# Dynamics Marketo Sync",
                "lastname": "(application user)",
                "applicationid": self.client_id,
                "isdisabled": False,
            },
            None,
            self.app_user_id,
        )

    def seed_names(self) -> tuple[str, ...]:
        return ("systemuser", "team", "account", "contact", "lead", "opportunity")

    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]:
        return seeding.seed(self.org, counts, seed, self.app_user_id)

    def data(self, name: str) -> list[dict[str, Any]] | None:
        if name not in self.org.tables:
            return None
        return [
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in row.items()}
            for row in self.org.table(name).rows.values()
        ]

    def ready_info(self, url: str, ca_file: str | None) -> dict[str, Any]:
        self.base_url = url
        return {
            "service": "dataverse",
            "url": url,
            "api": f"{url}{API}/",
            "authority": url,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "ca_file": ca_file,
        }

    # routing

    def rules(self) -> Iterable[Rule]:
        yield Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="openid", methods=["GET"])
        yield Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"])
        yield Rule(f"{API}/", endpoint="api", methods=["GET"], defaults={"path": ""})
        yield Rule(f"{API}/<path:path>", endpoint="api", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])

    def not_found(self, request: Request) -> Response:
        return error_reply(DataverseError(404, "0x80060888", f"Resource not found for the segment '{request.path}'."))

    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        status = rule.status or 500
        if status == 429:
            self.stats.count_throttled()
        code = rule.error_code or {
            429: "0x80072322",
            503: "0x80040216",
            502: "0x80040216",
            504: "0x80040216",
            401: "0x80040220",
        }.get(status, "0x80040216")
        message = rule.message or {
            429: "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
            401: "The user is not authenticated.",
        }.get(status, "An unexpected error occurred.")
        if status == 401:
            return Response("", status=401, headers=self._challenge())
        return error_reply(DataverseError(status, code, message, rule.retry_after_headers()))

    def _challenge(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": f"Bearer authorization_uri=https://login.microsoftonline.com/{self.tenant_id}"
            f"/oauth2/authorize, resource_id={self._base(None)}/"
        }

    def _base(self, request: Request | None) -> str:
        if request is not None:
            return request.host_url.rstrip("/")
        return self.base_url

    # identity

    def on_openid(self, request: Request, tenant: str) -> Response:
        return json_response(self.identity.openid_configuration(self._base(request), tenant))

    def on_token(self, request: Request, tenant: str) -> Response:
        status, body = self.identity.issue(dict(request.form.items()), tenant, self._base(request))
        return json_response(body, status)

    # the API frame: token, service protection, errors

    def on_api(self, request: Request, path: str) -> Response:
        user = self.identity.caller(request.headers.get("Authorization"))
        if user is None:
            return Response("", status=401, headers=self._challenge())
        refusal = self.protection.enter(user)
        if refusal is not None:
            self.stats.count_throttled()
            return error_reply(refusal)
        try:
            self.serve_injected_delay(request)
            return self.dispatch(request, path, user)
        except DataverseError as error:
            return error_reply(error)
        except ODataError as error:
            return error_reply(bad_request(str(error)))
        finally:
            self.protection.leave(user)

    def dispatch(self, request: Request, path: str, user: str) -> Response:
        if path == "":
            return json_reply(
                {
                    "@odata.context": f"{self._base(request)}{API}/$metadata",
                    "value": [
                        {"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in self.table_defs
                    ],
                }
            )
        if path == "$batch" and request.method == "POST":
            return batching.execute(self, request, user)
        if path in ("WhoAmI", "WhoAmI()"):
            return json_reply(
                {
                    "@odata.context": f"{self._base(request)}{API}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    "BusinessUnitId": str(uuid.uuid5(uuid.NAMESPACE_URL, "bu")),
                    "UserId": user,
                    "OrganizationId": str(uuid.uuid5(uuid.NAMESPACE_URL, "org")),
                }
            )
        if path.startswith("EntityDefinitions"):
            with self.lock:
                return metadata.answer(self, request, path)
        if path.startswith("RetrieveTotalRecordCount("):
            return self._record_counts(request, path)
        match = _KEY.match(path)
        if match is None or match.group("set") not in self.org.by_entity_set:
            segment = match.group("set") if match else path
            raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{segment}'.")
        table = self.org.table(self.org.by_entity_set[match.group("set")]).definition
        key, action = match.group("key"), match.group("action")
        if action:
            return self._action(request, table, key, action, user)
        if key is None:
            if request.method == "GET":
                return self._collection(request, table)
            if request.method == "POST":
                return self._create(request, table, user)
            raise DataverseError(
                405, "0x80060888", f"The HTTP method '{request.method}' is not allowed on a collection."
            )
        if request.method == "GET":
            return self._retrieve(request, table, key)
        if request.method == "PATCH":
            return self._upsert(request, table, key, user)
        if request.method == "DELETE":
            return self._delete(table, key)
        raise DataverseError(405, "0x80060888", f"The HTTP method '{request.method}' is not allowed on an entity.")

    # keys

    def resolve_key(self, table: TableDef, key: str) -> str | None:
        """A GUID, or alternate key values name='value',…; the record id if it exists."""
        if _GUID.match(key.strip()):
            return key.strip().lower()
        pairs = dict(part.split("=", 1) for part in key.split(",") if "=" in part)
        names = tuple(sorted(pairs))
        if not pairs or names not in {tuple(sorted(k)) for k in table.keys}:
            raise bad_request(
                f"The key '{key}' is neither a GUID nor an alternate key defined on {table.logical_name}."
            )
        wanted = {n: v.strip().strip("'").replace("''", "'") for n, v in pairs.items()}
        for row in self.org.table(table.logical_name).rows.values():
            if all(str(row.get(n) or "").casefold() == v.casefold() for n, v in wanted.items()):
                return str(row[table.primary_id])
        return None

    # reads

    def _resolver(self, table: TableDef) -> Any:
        def resolve(name: str) -> Any:
            for column in table.columns:
                if column.is_lookup and name == lookup_property(column):
                    return lambda row, n=column.name: (row.get(n) or (None, None))[1]
                if not column.is_lookup and name == column.name:
                    return lambda row, n=column.name: row.get(n)
            raise ODataError(
                f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
            )

        return resolve

    def _select(self, table: TableDef, raw: str | None) -> list[str] | None:
        names = parse_list(raw)
        if not names:
            return None
        columns = []
        for name in names:
            column = (
                table.column(name.removeprefix("_").removesuffix("_value"))
                if name.startswith("_")
                else table.column(name)
            )
            if column is None or (name.startswith("_") != column.is_lookup):
                raise ODataError(
                    f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
                )
            columns.append(column.name)
        return columns

    def _context(self, request: Request, table: TableDef, select: list[str] | None, suffix: str = "") -> str:
        shown = f"({','.join(parse_list(request.args.get('$select')))})" if select else ""
        return f"{self._base(request)}{API}/$metadata#{table.entity_set}{shown}{suffix}"

    def _link(self, request: Request, extra: dict[str, str], drop: tuple[str, ...] = ("$skiptoken",)) -> str:
        args = MultiDict(request.args)
        for name in drop:
            args.pop(name, None)
        query = urlencode([*args.items(multi=True), *extra.items()], safe="$,()'", quote_via=quote)
        return f"{self._base(request)}{request.path}?{query}"

    def _collection(self, request: Request, table: TableDef) -> Response:
        prefer = parse_prefer(request.headers.get("Prefer"))
        select = self._select(table, request.args.get("$select"))
        tracking = prefer.track_changes or "$deltatoken" in request.args
        if tracking:
            if not table.change_tracking:
                raise bad_request(
                    f"Change tracking is not enabled for the entity '{table.logical_name}'. "
                    "Enable ChangeTrackingEnabled on the table to request odata.track-changes."
                )
            for option in REFUSED_WITH_TRACKING:
                if option in request.args:
                    raise bad_request(
                        f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.'
                    )
        skip = decode_token(request.args["$skiptoken"]) if "$skiptoken" in request.args else {}
        self.pause(0.05)
        with self.lock:
            if "$deltatoken" in request.args or skip.get("delta"):
                return self._delta(request, table, select, prefer, skip)
            data = self.org.table(table.logical_name)
            until = int(skip.get("until", self.org.version))
            shaped = not tracking and any(o in request.args for o in ("$filter", "$orderby", "$top"))
            if shaped:
                rows = list(data.rows.values())
                if "$filter" in request.args:
                    predicate = compile_filter(request.args["$filter"], self._resolver(table))
                    rows = [r for r in rows if predicate(r)]
                for name, descending in reversed(parse_orderby(request.args.get("$orderby"))):
                    rows.sort(key=_sort_key(self._resolver(table)(name)), reverse=descending)
                if "$top" in request.args and request.headers.get("Prefer", "").find("odata.maxpagesize") < 0:
                    try:
                        rows = rows[: int(request.args["$top"])]
                    except ValueError:
                        raise bad_request(f"Invalid $top '{request.args['$top']}'.") from None
            offset = int(skip.get("offset", 0))
            if shaped:
                total = len(rows)
                page = rows[offset : offset + prefer.max_page_size]
                after = offset + len(page)
                more = after < total
            else:  # in creation order by a cursor, without copying the table
                total = len(data.rows)
                page, after = data.page(offset, prefer.max_page_size)
                more = after < len(data.order) and len(page) == prefer.max_page_size
                if more and not data.page(after, 1)[0]:
                    more = False
            self.pause(0.00002 * len(page))
            body: dict[str, Any] = {
                "@odata.context": self._context(request, table, select),
                "value": list(map(serializer(self.org, table, select, prefer), page)),
            }
        if request.args.get("$count") == "true":
            body["@odata.count"] = min(total, COUNT_LIMIT)
            if total > COUNT_LIMIT:
                body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = True
        if more:
            body["@odata.nextLink"] = self._link(request, {"$skiptoken": encode_token(offset=after, until=until)})
        elif tracking:
            body["@odata.deltaLink"] = self._link(
                request, {"$deltatoken": delta_token(until, self.clock.now_datetime())}, drop=("$skiptoken",)
            )
        return json_reply(body, headers={"Preference-Applied": self._applied(prefer)} if prefer.track_changes else None)

    @staticmethod
    def _applied(prefer: Prefer) -> str:
        parts = ["odata.track-changes"] if prefer.track_changes else []
        return ",".join(parts)

    def _delta(
        self,
        request: Request,
        table: TableDef,
        select: list[str] | None,
        prefer: Prefer,
        skip: dict[str, Any],
    ) -> Response:
        if skip:
            after, until = int(skip["after"]), int(skip["until"])
        else:
            after, stamp = parse_delta_token(request.args["$deltatoken"])
            age = self.clock.now_datetime() - stamp.replace(tzinfo=UTC)
            if age > timedelta(days=self.change_tracking_expiry_days):
                raise DataverseError(400, "0x80044352", EXPIRED)
            until = self.org.version
        changed, deleted = self.org.table(table.logical_name).changes(after, until)
        base = f"{self._base(request)}{API}/$metadata#{table.entity_set}/$deletedEntity"
        items: list[dict[str, Any]] = list(map(serializer(self.org, table, select, prefer), changed))
        items += [{"@odata.context": base, "id": record_id, "reason": "deleted"} for record_id in deleted]
        offset = int(skip.get("offset", 0))
        page = items[offset : offset + prefer.max_page_size]
        body: dict[str, Any] = {
            "@odata.context": self._context(request, table, select, "/$delta"),
            "value": page,
        }
        if offset + len(page) < len(items):
            body["@odata.nextLink"] = self._link(
                request,
                {"$skiptoken": encode_token(delta=1, after=after, until=until, offset=offset + len(page))},
                drop=("$skiptoken", "$deltatoken"),
            )
        else:
            body["@odata.deltaLink"] = self._link(
                request,
                {"$deltatoken": delta_token(until, self.clock.now_datetime())},
                drop=("$skiptoken", "$deltatoken"),
            )
        return json_reply(body)

    def _record_counts(self, request: Request, path: str) -> Response:
        """`RetrieveTotalRecordCount(EntityNames=@p1)?@p1=['account','contact']` (Dataverse answers
        from a snapshot up to 24 hours old; the emulator answers the current counts)."""
        inner = path[len("RetrieveTotalRecordCount(") :].rstrip(")")
        raw = inner.split("=", 1)[1] if "=" in inner else ""
        if raw.startswith("@"):
            raw = request.args.get(raw, "")
        names = [n.strip().strip("'\"") for n in raw.strip("[]").split(",") if n.strip()]
        unknown = [n for n in names if n not in self.org.tables]
        if not names or unknown:
            raise bad_request(f"EntityNames must list existing tables; unknown: {', '.join(unknown) or '(none given)'}")
        with self.lock:
            values = [len(self.org.table(n).rows) for n in names]
        context = f"{self._base(request)}{API}/$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse"
        collection = {"Count": len(names), "IsReadOnly": False, "Keys": names, "Values": values}
        return json_reply({"@odata.context": context, "EntityRecordCountCollection": collection})

    def _retrieve(self, request: Request, table: TableDef, key: str) -> Response:
        prefer = parse_prefer(request.headers.get("Prefer"))
        select = self._select(table, request.args.get("$select"))
        with self.lock:
            record_id = self.resolve_key(table, key)
            row = self.org.get(table.logical_name, record_id) if record_id else None
            if row is None:
                raise not_found(table.logical_name, key)
            body = {
                "@odata.context": self._context(request, table, select, "/$entity"),
                **serialize(self.org, table, row, select, prefer),
            }
        return json_reply(body)

    # writes

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

    def _create(self, request: Request, table: TableDef, user: str) -> Response:
        payload = self._body(request)
        self.pause(0.03)
        with self.lock:
            values = parse_payload(self.org, table, payload)
            record_id = values.pop(table.primary_id, None)
            row = self.org.create(table.logical_name, values, user, record_id)
            return self._written(request, table, row, created=True)

    def _upsert(self, request: Request, table: TableDef, key: str, user: str) -> Response:
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

    def _delete(self, table: TableDef, key: str) -> Response:
        self.pause(0.03)
        with self.lock:
            record_id = self.resolve_key(table, key)
            if record_id is None or self.org.get(table.logical_name, record_id) is None:
                raise not_found(table.logical_name, key)
            self.org.delete(table.logical_name, record_id)
        return Response(status=204, headers={"OData-Version": "4.0"})

    # bound actions

    def _action(self, request: Request, table: TableDef, key: str | None, action: str, user: str) -> Response:
        if request.method != "POST":
            raise DataverseError(405, "0x80060888", f"{action} is an action: use POST.")
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
                    match = _KEY.match(str(odata_id).rsplit("/", 1)[-1])
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
