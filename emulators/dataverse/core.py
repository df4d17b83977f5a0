"""The Dataverse emulator's state and frame: identity, service protection limits, faults,
keys, $select, links. The reads and writes build on it.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Request, Response

from emulators.common.clock import EmulatorClock
from emulators.common.control import json_response
from emulators.common.faults import FaultRule
from emulators.common.latency import Costs, Latency
from emulators.common.routing import F, Route, route, url_map
from emulators.common.service import EmulatorService
from emulators.dataverse import metadata_writes
from emulators.dataverse import seed as seeding
from emulators.dataverse.catalogue import STANDARD_TABLES, TableDef
from emulators.dataverse.identity import DELEGATED_PASSWORD, DELEGATED_USERNAME, EntraId, aad_error
from emulators.dataverse.marketing import MARKETING_TABLES
from emulators.dataverse.models import DataverseError, Organization, Row
from emulators.dataverse.odata import ODataError, parse_list
from emulators.dataverse.plugin_registration import TABLES as PLUGIN_REGISTRATION_TABLES
from emulators.dataverse.plugin_registration import seed_messages
from emulators.dataverse.webhooks import WebhookDispatcher
from emulators.dataverse.wire import (
    bad_request,
    error_reply,
)

API = "/api/data/v9.2"
REFUSED_WITH_TRACKING = ("$filter", "$orderby", "$expand", "$top")
API_AREA = "api"
ENTITY_REF = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\((?P<key>[^)]*)\)$")  # accounts(<key>), as in @odata.id


class EntitySetConverter(BaseConverter):
    regex = r"[A-Za-z_][A-Za-z0-9_]*"


class KeyConverter(BaseConverter):
    """What is inside an entity's parentheses: a GUID or alternate key values."""

    regex = r"[^)/]*"


API_CONVERTERS = {"set": EntitySetConverter, "key": KeyConverter}


def api(path: str, *methods: str) -> Callable[[F], F]:
    """A Web API endpoint: `path` is within /api/data/v9.2; the method gets the request, the
    calling user's id and the path's parts. The API frame (`on_api`) has checked the token."""
    return route(path, *methods, area=API_AREA)


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


class DataverseCore(EmulatorService):
    LATENCY: ClassVar[dict[Latency, Costs]] = {
        Latency.REALISTIC: {
            "read": (0.05, 0.0),
            "rows": (0.0, 0.00002),  # 5,000 rows: 0.1 s
            "write": (0.03, 0.0),
            "write_multiple": (0.05, 0.005),  # 500 rows: 2.55 s
            # the asynchronous service's pick-up of a system job (a webhook step): no published
            # figure; seconds, as Microsoft describes async steps ("queued … executed later")
            "async_job": (1.0, 0.0),
        },
        Latency.PESSIMISTIC: {
            "read": (0.3, 0.0),
            "rows": (0.0, 0.0001),  # 5,000 rows: 0.5 s
            "write": (0.15, 0.0),
            "write_multiple": (0.3, 0.01),  # 500 rows: 5.3 s
            "async_job": (5.0, 0.0),
        },
    }
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
        self.table_defs = [*STANDARD_TABLES, *MARKETING_TABLES, *custom_tables, *PLUGIN_REGISTRATION_TABLES]
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
        self._api_map = url_map(type(self), API_AREA, converters=API_CONVERTERS)
        self.reset()

    # state

    def reset(self) -> None:
        self.key_index_s = metadata_writes.KEY_INDEX_S
        self.change_repeats = False  # a row changed twice in a delta's span comes twice (control: change-tracking)
        previous: WebhookDispatcher | None = getattr(self, "webhooks", None)
        if previous is not None:
            previous.jobs.stop()
        self.org = Organization(self.clock, self.table_defs)
        seed_messages(self.org, [t.logical_name for t in self.table_defs])
        self.webhooks = WebhookDispatcher(self)
        self.org.on_commit = self.webhooks.on_commit
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

    def is_write(self, request: Request) -> bool:
        """Data writes only: a sign-in at the token endpoints is not one."""
        return super().is_write(request) and "/oauth2/" not in request.path

    def seed_names(self) -> tuple[str, ...]:
        return ("systemuser", "team", "account", "contact", "lead", "opportunity")

    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]:
        return seeding.seed(self.org, counts, seed, self.app_user_id)

    def remove_field(self, collection: str, name: str) -> bool:
        return collection in self.org.tables and self.org.remove_column(collection, name)

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
            "username": DELEGATED_USERNAME,  # a delegated user, for the password and refresh-token grants
            "password": DELEGATED_PASSWORD,
            "ca_file": ca_file,
        }

    # routing

    def not_found(self, request: Request) -> Response:
        if not request.path.startswith(f"{API}/"):  # the identity side answers as Entra does, not as Dataverse
            if request.path.endswith(("/oauth2/token", "/oauth2/v2.0/token")):
                description = f"The endpoint only accepts POST, OPTIONS requests. Received a {request.method} request."
                return json_response(aad_error(900561, "invalid_request", description), 400)
            return Response("<html><body>Not Found</body></html>", status=404, mimetype="text/html")
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

    @route("/<tenant>/v2.0/.well-known/openid-configuration", "GET")
    def on_openid(self, request: Request, tenant: str) -> Response:
        return json_response(self.identity.openid_configuration(self._base(request), tenant))

    @route("/<tenant>/oauth2/v2.0/token", "POST")
    def on_token(self, request: Request, tenant: str) -> Response:
        status, body = self.identity.issue(dict(request.form.items()), tenant, self._base(request))
        return json_response(body, status)

    @route("/<tenant>/oauth2/token", "POST")
    def on_token_v1(self, request: Request, tenant: str) -> Response:
        status, body = self.identity.issue_v1(dict(request.form.items()), tenant, self._base(request))
        return json_response(body, status)

    # the API frame: token, service protection, errors; then the path within the API

    @route(f"{API}/", "GET", defaults={"path": ""})
    @route(f"{API}/<path:path>", "GET", "POST", "PATCH", "PUT", "DELETE")
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
        """One Web API request (from the wire or a `$batch` part) to the method declared with `@api`
        for its path within /api/data/v9.2."""
        adapter = self._api_map.bind("dataverse", "/")
        try:
            endpoint, args = adapter.match("/" + path, method=request.method)
        except MethodNotAllowed:
            raise DataverseError(
                405, "0x80060888", f"The HTTP method '{request.method}' is not allowed on '{path}'."
            ) from None
        except HTTPException:
            segment = path.split("/", 1)[0].split("(", 1)[0]
            raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{segment}'.") from None
        assert isinstance(endpoint, Route)
        handler = getattr(self, endpoint.handler)
        return handler(request, user, **args)  # type: ignore[no-any-return]

    def table_of(self, entity_set: str) -> TableDef:
        name = self.org.by_entity_set.get(entity_set)
        if name is None:
            raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{entity_set}'.")
        return self.org.table(name).definition

    def resolve_key(self, table: TableDef, key: str) -> str | None:
        """A GUID, or alternate key values name='value',…; the record id if it exists."""
        if _GUID.match(key.strip()):
            return key.strip().lower()
        pairs = dict(part.split("=", 1) for part in key.split(",") if "=" in part)
        names = tuple(sorted(pairs))
        active, building = self.org.alternate_keys(table.logical_name, self.clock.now())
        if pairs and names in {tuple(sorted(k)) for k in building}:
            raise bad_request(
                f"The alternate key on {', '.join(names)} of {table.logical_name} cannot be used until its index "
                "is Active (EntityKeyIndexStatus is Pending)."
            )
        if not pairs or names not in {tuple(sorted(k)) for k in active}:
            raise bad_request(
                f"The key '{key}' is neither a GUID nor an alternate key defined on {table.logical_name}."
            )
        wanted = tuple(pairs[n].strip().strip("'").replace("''", "'").casefold() for n in names)
        return self.org.table(table.logical_name).find_by_key(names, wanted)

    # reads

    def _resolver(self, table: TableDef) -> Any:
        def resolve(name: str) -> Any:
            for column in table.columns:
                if column.is_lookup and name == column.lookup_property:
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
