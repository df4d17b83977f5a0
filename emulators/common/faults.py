"""Injected faults: rules matched on method and path, answering with a status or service error
code, for the first N matching requests or every Kth one."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any


class FaultRuleError(ValueError):
    """A fault rule that cannot be used; the message says which key is wrong."""


@dataclass
class FaultRule:
    path: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    error_code: str | None = None
    message: str | None = None
    retry_after: float | str | None = None  # seconds, or an HTTP date sent as given
    delay_s: float = 0.0
    times: int | None = None
    every: int | None = None
    after_write: bool = False  # the call is served, then its answer lost: `status` instead, or a dropped connection
    matched: int = 0
    fired: int = 0

    @classmethod
    def from_json(cls, raw: Any) -> FaultRule:
        if not isinstance(raw, dict):
            raise FaultRuleError("a fault rule is a JSON object")
        known = {
            "path",
            "method",
            "status",
            "error_code",
            "message",
            "retry_after",
            "delay_s",
            "times",
            "every",
            "after_write",
        }
        unknown = set(raw) - known
        if unknown:
            raise FaultRuleError(f"unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
        if "path" not in raw:
            raise FaultRuleError("'path' (a regular expression matched against the request path) is required")
        try:
            path = re.compile(str(raw["path"]))
        except re.error as exc:
            raise FaultRuleError(f"'path' is not a regular expression: {exc}") from exc
        does = ("status", "error_code", "delay_s", "after_write")
        if raw.get("status") is None and raw.get("error_code") is None and not any(raw.get(k) for k in does[2:]):
            raise FaultRuleError("give 'status', 'error_code', 'delay_s' or 'after_write' (what the fault does)")
        for key in ("times", "every"):
            if raw.get(key) is not None and (not isinstance(raw[key], int) or raw[key] < 1):
                raise FaultRuleError(f"'{key}' must be a whole number >= 1")
        return cls(
            path=path,
            method=str(raw["method"]).upper() if raw.get("method") else None,
            status=raw.get("status"),
            error_code=None if raw.get("error_code") is None else str(raw["error_code"]),
            message=raw.get("message"),
            retry_after=raw.get("retry_after"),
            delay_s=float(raw.get("delay_s") or 0.0),
            times=raw.get("times"),
            every=raw.get("every"),
            after_write=bool(raw.get("after_write")),
        )

    def retry_after_headers(self) -> dict[str, str] | None:
        """The Retry-After header, in whichever form HTTP allows the rule gave: seconds or a date."""
        if self.retry_after is None:
            return None
        value = self.retry_after
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return {"Retry-After": str(value)}

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path.pattern,
            "method": self.method,
            "status": self.status,
            "error_code": self.error_code,
            "times": self.times,
            "every": self.every,
            "after_write": self.after_write,
            "matched": self.matched,
            "fired": self.fired,
        }


@dataclass
class FaultBook:
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self.rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def match(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request (counting it), if any."""
        with self._lock:
            for rule in self.rules:
                if rule.method not in (None, method) or not rule.path.search(path):
                    continue
                rule.matched += 1
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.every is not None and rule.matched % rule.every != 0:
                    continue
                rule.fired += 1
                return rule
        return None
