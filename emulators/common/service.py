"""The WSGI base of every emulator: routing, framing, injected faults, latency, counters, and
the test-control API (`control`)."""

from __future__ import annotations

import contextlib
import gc
import socket
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from emulators.common.clock import EmulatorClock
from emulators.common.control import CONTROL, CONTROL_PREFIX, ControlApi, json_response
from emulators.common.faults import FaultBook, FaultRule
from emulators.common.latency import Costs, Latency
from emulators.common.latency import seconds as latency_seconds
from emulators.common.routing import Route, url_map
from emulators.common.stats import RequestStats

INJECTED_DELAY = "emulator.injected_delay_s"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
Handler = Callable[..., Response]


class EmulatorService(ControlApi, ABC):
    """A service is its routes and state; this base adds everything around them."""

    name: str

    def __init__(self, clock: EmulatorClock, latency: Latency = Latency.NONE) -> None:
        self.clock = clock
        self.latency = latency
        self.faults = FaultBook()
        self.stats = RequestStats()
        self.lock = threading.RLock()  # guards service state; handlers take it around mutations
        self._url_map = url_map(type(self))
        self._control = url_map(type(self), CONTROL)

    # what a service provides

    def frame(self, route: Route, request: Request, args: dict[str, Any]) -> Response:
        """What wraps every call of this service (auth, limits, envelopes); by default nothing."""
        handler: Handler = getattr(self, route.handler)
        return handler(request, **args)

    @abstractmethod
    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        """An injected fault, in this service's own error format."""

    @abstractmethod
    def not_found(self, request: Request) -> Response: ...

    @abstractmethod
    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]: ...

    @abstractmethod
    def seed_names(self) -> tuple[str, ...]:
        """The collections `--seed N` fills."""

    @abstractmethod
    def ready_info(self, url: str, ca_file: str | None) -> dict[str, Any]:
        """The one JSON line printed when the emulator is ready: where it is and how to sign in."""

    def is_write(self, request: Request) -> bool:
        return request.method in ("POST", "PATCH", "PUT", "DELETE")

    def seed_collections(self, counts: dict[str, int], seed: int) -> dict[str, int]:
        """Seed, then take the seeded rows out of the cyclic GC's sight: they hold no cycles, and a
        full collection walking a million row dicts would add ~100 ms to whatever request runs it."""
        with self.lock:
            made = self.seed(counts, seed)
        gc.freeze()
        return made

    def serve_injected_delay(self, request: Request) -> None:
        """A delay-only fault, slept where the service counts the call as in flight."""
        delay = float(request.environ.get(INJECTED_DELAY, 0.0))
        if delay:
            time.sleep(self.clock.scaled(delay))

    # each service's operations and what they cost under each latency profile (emulators/common/latency.py)
    LATENCY: ClassVar[dict[Latency, Costs]] = {}

    def pause(self, operation: str, records: int = 0) -> None:
        """The operation's latency under the profile, scaled; nothing at all with --latency none."""
        wait = self.latency_s(operation, records)
        if wait > 0:
            time.sleep(wait)

    def latency_s(self, operation: str, records: int = 0) -> float:
        """The operation's latency under the profile, scaled to the clock: what `pause` waits."""
        wait = latency_seconds(self.LATENCY, self.latency, operation, records)
        return self.clock.scaled(wait) if wait > 0 else 0.0

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            response = self._control_call(request)
        else:
            response = self._service_call(request)
        return response(environ, start_response)

    def _service_call(self, request: Request) -> Response:
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            return self.not_found(request)
        except NotFound:
            return self.not_found(request)
        except HTTPException as exc:  # e.g. a redirect from a trailing slash
            return exc.get_response()
        assert isinstance(endpoint, Route)
        self.stats.count(endpoint.name, write=self.is_write(request))
        rule = self.faults.match(request.method, request.path)
        if rule is not None:
            self.stats.count_fault()
            if not rule.after_write and (rule.status is not None or rule.error_code is not None):
                if rule.delay_s:
                    time.sleep(self.clock.scaled(rule.delay_s))
                return self.fault_response(rule, request)
            request.environ[INJECTED_DELAY] = rule.delay_s  # served inside the call: it holds its slots
        try:
            response = self.frame(endpoint, request, dict(args))
        except Exception:  # an emulator bug: say where, answer 500 as a real server would
            traceback.print_exc(file=sys.stderr)
            return Response("internal error in the emulator", status=500, mimetype="text/plain")
        if rule is not None and rule.after_write:
            return self._lost_answer(rule, request)
        return response

    def _lost_answer(self, rule: FaultRule, request: Request) -> Response:
        """The call did its work; its answer never arrives: a gateway's error, or the connection
        closed under the caller (who cannot tell whether the write happened)."""
        if rule.status is not None or rule.error_code is not None:
            return self.fault_response(rule, request)
        connection = request.environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        return Response(b"", status=500)

    def _control_call(self, request: Request) -> Response:
        if request.remote_addr not in LOOPBACK:
            return json_response({"error": "the /_emulator/ API answers loopback callers only"}, 403)
        try:
            endpoint, args = self._control.bind_to_environ(request.environ).match()
        except HTTPException:
            return json_response({"error": f"no control endpoint {request.method} {request.path}"}, 404)
        try:
            body = request.get_json(silent=True) if request.data else {}
        except Exception:  # any parse failure is the caller's bad JSON
            body = None
        if body is None:
            return json_response({"error": "the body must be JSON"}, 400)
        handler: Handler = getattr(self, endpoint.handler)
        return handler(request, body, **args)
