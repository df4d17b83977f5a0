"""The Marketo emulator's state and REST frame: identity, token, size limits, rate and
concurrency limits, envelopes, injected faults. The endpoints by role build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from emulators.common.clock import EmulatorClock
from emulators.common.control import json_response
from emulators.common.faults import FaultRule
from emulators.common.latency import Costs, Latency
from emulators.common.routing import F, Route, route
from emulators.common.service import EmulatorService
from emulators.marketo import bulk
from emulators.marketo import seed as seeding
from emulators.marketo.catalogue import (
    MAX_BODY_BYTES,
    MAX_URI_BYTES,
    STANDARD_OBJECT_TYPES,
    FieldDef,
    ObjectType,
)
from emulators.marketo.envelopes import MarketoError, error_envelope, list_param
from emulators.marketo.limits import Limits
from emulators.marketo.models import (
    ObjectDatabase,
    PersonDatabase,
    TokenBook,
)
from emulators.marketo.programs import Programs
from emulators.marketo.webhooks import CampaignWebhooks
from emulators.marketo.wire import is_get_override, reply

LEAD_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate", "createDuplicate")
OBJECT_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate")
REST = "/rest/v1"
BULK = "/bulk/v1"
# Activities examined per call, of every type: "Each Get Lead Activity call will go through 300
# activities of ALL types from the timestamp placed on the nextPageToken" (Adobe KB ka-29362, "Get
# Lead Activities REST API Is Not Returning Any Activities"). So a page may hold fewer than asked,
# even none with moreResult true, and a reader pays a call per 300 activities of any type.
SCAN_PER_CALL = 300
DATA_NAMES = {
    "company": "companies",
    "opportunity": "opportunities",
    "opportunityrole": "opportunities/roles",
    "salesperson": "salespersons",
}


def rest(
    path: str, *methods: str, max_body: int = MAX_BODY_BYTES, defaults: dict[str, str] | None = None
) -> Callable[[F], F]:
    """A REST API endpoint: the method returns the envelope (or a CSV response); the frame adds
    the size limits, the access token, the rate, concurrency and quota, and the error envelope."""
    return route(path, *methods, defaults=defaults, rest=True, max_body=max_body)


class MarketoCore(EmulatorService):
    LATENCY: ClassVar[dict[Latency, Costs]] = {
        Latency.REALISTIC: {
            "push": (0.25, 0.004),  # 300 persons: 1.45 s
            "query": (0.15, 0.001),
            "describe": (0.2, 0.0),
            "delete": (0.25, 0.002),
            "activities": (0.3, 0.0),
            "object_write": (0.2, 0.003),
            "object_query": (0.15, 0.0),
            # a trigger campaign's processing before its Call Webhook step: no published figure;
            # seconds on a quiet instance (longer when its campaign queue is busy: pessimistic)
            "campaign": (3.0, 0.0),
        },
        Latency.PESSIMISTIC: {
            "push": (1.0, 0.015),  # 300 persons: 5.5 s
            "query": (0.6, 0.004),
            "describe": (0.8, 0.0),
            "delete": (1.0, 0.008),
            "activities": (1.5, 0.0),
            "object_write": (0.8, 0.012),
            "object_query": (0.6, 0.0),
            "campaign": (15.0, 0.0),
        },
    }
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
        previous: CampaignWebhooks | None = getattr(self, "campaigns", None)
        if previous is not None:
            previous.jobs.stop()
        self.persons = PersonDatabase()
        self.campaigns = CampaignWebhooks(self)
        self.persons.on_change = self.campaigns.on_person
        self.standard_objects: dict[str, ObjectDatabase] = {t.name: ObjectDatabase(t) for t in STANDARD_OBJECT_TYPES}
        self.custom_objects = {t.name: ObjectDatabase(t) for t in self.custom_object_types}
        self.tokens = TokenBook(self.clock)
        self.bulk = bulk.BulkJobs()
        self.limits = Limits(self.clock, **self.limit_settings)  # type: ignore[arg-type]
        self.programs = Programs()

    def seed_names(self) -> tuple[str, ...]:
        return ("lead", "company", "opportunity", "salesperson", "program", "engagement")

    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]:
        return seeding.seed(self, counts, seed)

    def remove_field(self, collection: str, name: str) -> bool:
        if collection != "lead" or name not in self.persons.fields:
            return False
        del self.persons.fields[name]
        for lead in self.persons.leads.values():
            lead.pop(name, None)
        return True

    def data(self, name: str) -> list[dict[str, Any]] | None:
        if name == "lead":
            return list(self.persons.leads.values())
        if name in DATA_NAMES:
            return list(self.standard_objects[DATA_NAMES[name]].records.values())
        if name == "program":
            return list(self.programs.programs.values())
        if name == "programmember":
            return list(self.programs.members.values())
        if name == "activity":  # the whole log, as Get Lead Activities shows each
            return [a.generic_wire() for a in self.persons.activities.items]
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

    def is_write(self, request: Request) -> bool:
        if request.method == "DELETE":
            return True
        return request.method == "POST" and not is_get_override(request) and "/identity/" not in request.path

    def not_found(self, request: Request) -> Response:
        """A path (or method) the API does not have: Marketo's envelope with 610, as it answers."""
        if not request.path.startswith(("/rest/", "/bulk/")):
            return Response("<html><body><h1>404 Not Found</h1></body></html>", status=404, mimetype="text/html")
        return reply(error_envelope("610", "Requested resource not found"))

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

    def frame(self, route: Route, request: Request, args: dict[str, Any]) -> Response:
        if not route.options.get("rest"):
            return super().frame(route, request, args)
        handler = getattr(self, route.handler)
        return self._rest(request, lambda: handler(request, **args), route.options["max_body"])

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

    @route("/identity/oauth/token", "GET", "POST")
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

    def _fields_param(self, raw: str | None, known: dict[str, FieldDef], default: Iterable[str]) -> list[str]:
        fields = list_param(raw) or list(default)
        for name in fields:
            if name not in known:
                raise MarketoError("1003", detail=f"Field '{name}' not found")
        return fields
