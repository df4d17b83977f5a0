"""The test-control API under /_emulator/ (loopback callers only, no auth): reset, seed, faults,
counters, the clock, a collection's rows, and removing a field as an admin would."""

from __future__ import annotations

import json
import threading
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.common.clock import EmulatorClock
from emulators.common.faults import FaultBook, FaultRule, FaultRuleError
from emulators.common.routing import F, route
from emulators.common.stats import RequestStats

CONTROL = "control"
CONTROL_PREFIX = "/_emulator/"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")), status=status, headers=headers, mimetype="application/json"
    )


def control(path: str, *methods: str) -> Callable[[F], F]:
    return route(f"{CONTROL_PREFIX}{path}", *methods, area=CONTROL)


class ControlApi:
    """Each handler takes the request and its parsed JSON body (`{}` when there is none)."""

    clock: EmulatorClock
    faults: FaultBook
    stats: RequestStats
    lock: threading.RLock

    @abstractmethod
    def reset(self) -> None: ...

    @abstractmethod
    def seed_collections(self, counts: dict[str, int], seed: int) -> dict[str, int]: ...

    @abstractmethod
    def data(self, name: str) -> list[dict[str, Any]] | None:
        """Every row of one collection, or None when there is no such collection."""

    @abstractmethod
    def remove_field(self, collection: str, name: str) -> bool:
        """What an admin deleting a field in the service's UI does: the field and its values go.
        False when there is no such field."""

    @control("reset", "POST")
    def control_reset(self, request: Request, body: Any) -> Response:
        with self.lock:
            self.reset()
        self.faults.clear()
        self.stats.__init__()  # type: ignore[misc]
        return json_response({"reset": True})

    @control("seed", "POST")
    def control_seed(self, request: Request, body: Any) -> Response:
        counts = body.get("counts", {})
        if not isinstance(counts, dict) or not all(isinstance(v, int) and v >= 0 for v in counts.values()):
            return json_response({"error": "'counts' must map collection names to whole numbers"}, 400)
        try:
            made = self.seed_collections(counts, int(body.get("seed", 42)))
        except KeyError as exc:
            return json_response({"error": f"cannot seed {exc.args[0]!r}"}, 400)
        return json_response({"seeded": made})

    @control("faults", "GET", "POST", "DELETE")
    def control_faults(self, request: Request, body: Any) -> Response:
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

    @control("stats", "GET")
    def control_stats(self, request: Request, body: Any) -> Response:
        return json_response(self.stats.snapshot())

    @control("clock", "GET", "POST")
    def control_clock(self, request: Request, body: Any) -> Response:
        if request.method == "POST":
            moves: dict[str, float] = {
                k: v for k, v in body.items() if k in ("advance_seconds", "skew_seconds") and isinstance(v, int | float)
            }
            if not moves or len(moves) != len(body):
                return json_response({"error": "give {'advance_seconds': <number>} or {'skew_seconds': <number>}"}, 400)
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

    @control("data/<path:name>", "GET")
    def control_data(self, request: Request, body: Any, name: str) -> Response:
        """Every row, or with `?<field>=v1,v2` only the rows whose field is one of the values."""
        with self.lock:
            rows = self.data(name)
        if rows is None:
            return json_response({"error": f"no collection {name!r}"}, 404)
        for field, values in request.args.items():
            wanted = set(values.split(","))
            rows = [row for row in rows if str(row.get(field)) in wanted]
        return json_response({"name": name, "count": len(rows), "rows": rows})

    @control("fields/<collection>/<field>", "DELETE")
    def control_fields(self, request: Request, body: Any, collection: str, field: str) -> Response:
        with self.lock:
            removed = self.remove_field(collection, field)
        if not removed:
            return json_response({"error": f"no field {field!r} on {collection!r}"}, 404)
        return json_response({"removed": f"{collection}.{field}"})
