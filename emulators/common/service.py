"""The WSGI base of every emulator: routing, injected faults, latency, counters, and the
test-control API under /_emulator/ (loopback callers only, no auth)."""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from emulators.common.clock import EmulatorClock
from emulators.common.faults import FaultBook, FaultRule, FaultRuleError
from emulators.common.stats import RequestStats

CONTROL_PREFIX = "/_emulator/"
INJECTED_DELAY = "emulator.injected_delay_s"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
Handler = Callable[..., Response]


class Latency(StrEnum):
    NONE = "none"
    REALISTIC = "realistic"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")), status=status, headers=headers, mimetype="application/json"
    )


class EmulatorService(ABC):
    """A service is its routes and state; this base adds everything around them."""

    name: str

    def __init__(self, clock: EmulatorClock, latency: Latency = Latency.NONE) -> None:
        self.clock = clock
        self.latency = latency
        self.faults = FaultBook()
        self.stats = RequestStats()
        self.lock = threading.RLock()  # guards service state; handlers take it around mutations
        self._url_map = Map(list(self.rules()), strict_slashes=False)
        self._control = Map(
            [
                Rule(f"{CONTROL_PREFIX}reset", endpoint="reset", methods=["POST"]),
                Rule(f"{CONTROL_PREFIX}seed", endpoint="seed", methods=["POST"]),
                Rule(f"{CONTROL_PREFIX}faults", endpoint="faults", methods=["GET", "POST", "DELETE"]),
                Rule(f"{CONTROL_PREFIX}stats", endpoint="stats", methods=["GET"]),
                Rule(f"{CONTROL_PREFIX}clock", endpoint="clock", methods=["GET", "POST"]),
                Rule(f"{CONTROL_PREFIX}data/<path:name>", endpoint="data", methods=["GET"]),
                Rule(f"{CONTROL_PREFIX}fields/<collection>/<field>", endpoint="fields", methods=["DELETE"]),
            ]
        )

    # what a service provides

    @abstractmethod
    def rules(self) -> Iterable[Rule]:
        """Werkzeug rules; endpoint `x` is served by the method `on_x`."""

    @abstractmethod
    def fault_response(self, rule: FaultRule, request: Request) -> Response:
        """An injected fault, in this service's own error format."""

    @abstractmethod
    def not_found(self, request: Request) -> Response: ...

    @abstractmethod
    def reset(self) -> None: ...

    @abstractmethod
    def seed(self, counts: dict[str, int], seed: int) -> dict[str, int]: ...

    @abstractmethod
    def seed_names(self) -> tuple[str, ...]:
        """The collections `--seed N` fills."""

    @abstractmethod
    def ready_info(self, url: str, ca_file: str | None) -> dict[str, Any]:
        """The one JSON line printed when the emulator is ready: where it is and how to sign in."""

    @abstractmethod
    def data(self, name: str) -> list[dict[str, Any]] | None:
        """Every row of one collection, or None when there is no such collection."""

    @abstractmethod
    def remove_field(self, collection: str, name: str) -> bool:
        """What an admin deleting a field in the service's UI does: the field and its values go.
        False when there is no such field."""

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

    def pause(self, seconds: float) -> None:
        """Realistic latency, scaled; nothing at all with --latency none."""
        if self.latency is Latency.REALISTIC and seconds > 0:
            time.sleep(self.clock.scaled(seconds))

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
        self.stats.count(str(endpoint), write=self.is_write(request))
        rule = self.faults.match(request.method, request.path)
        if rule is not None:
            self.stats.count_fault()
            if rule.status is not None or rule.error_code is not None:
                if rule.delay_s:
                    time.sleep(self.clock.scaled(rule.delay_s))
                return self.fault_response(rule, request)
            request.environ[INJECTED_DELAY] = rule.delay_s  # served inside the call: it holds its slots
        handler: Handler = getattr(self, f"on_{endpoint}")
        try:
            return handler(request, **args)
        except Exception:  # an emulator bug: say where, answer 500 as a real server would
            traceback.print_exc(file=sys.stderr)
            return Response("internal error in the emulator", status=500, mimetype="text/plain")

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
        if endpoint == "reset":
            with self.lock:
                self.reset()
            self.faults.clear()
            self.stats.__init__()  # type: ignore[misc]
            return json_response({"reset": True})
        if endpoint == "seed":
            counts = body.get("counts", {})
            if not isinstance(counts, dict) or not all(isinstance(v, int) and v >= 0 for v in counts.values()):
                return json_response({"error": "'counts' must map collection names to whole numbers"}, 400)
            try:
                made = self.seed_collections(counts, int(body.get("seed", 42)))
            except KeyError as exc:
                return json_response({"error": f"cannot seed {exc.args[0]!r}"}, 400)
            return json_response({"seeded": made})
        if endpoint == "faults":
            return self._faults_call(request, body)
        if endpoint == "stats":
            return json_response(self.stats.snapshot())
        if endpoint == "clock":
            if request.method == "POST":
                moves: dict[str, float] = {
                    k: v
                    for k, v in body.items()
                    if k in ("advance_seconds", "skew_seconds") and isinstance(v, int | float)
                }
                if not moves or len(moves) != len(body):
                    return json_response(
                        {"error": "give {'advance_seconds': <number>} or {'skew_seconds': <number>}"}, 400
                    )
                if "advance_seconds" in moves:
                    self.clock.advance(moves["advance_seconds"])
                if "skew_seconds" in moves:
                    self.clock.skew(moves["skew_seconds"])
            return json_response(
                {
                    "now": self.clock.now_datetime().isoformat(),
                    "time_scale": self.clock.time_scale,
                    "skew_seconds": self.clock.skew_s,
                }
            )
        if endpoint == "fields":
            with self.lock:
                removed = self.remove_field(args["collection"], args["field"])
            if not removed:
                return json_response({"error": f"no field {args['field']!r} on {args['collection']!r}"}, 404)
            return json_response({"removed": f"{args['collection']}.{args['field']}"})
        with self.lock:
            rows = self.data(args["name"])
        if rows is None:
            return json_response({"error": f"no collection {args['name']!r}"}, 404)
        return json_response({"name": args["name"], "count": len(rows), "rows": rows})

    def _faults_call(self, request: Request, body: Any) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
            return json_response({"faults": []})
        if request.method == "POST":
            raw_rules = body.get("rules", [body]) if isinstance(body, dict) else body
            try:
                rules = [FaultRule.from_json(r) for r in raw_rules]
            except FaultRuleError as exc:
                return json_response({"error": str(exc)}, 400)
            for rule in rules:
                self.faults.add(rule)
        return json_response({"faults": [r.describe() for r in self.faults.rules]})
