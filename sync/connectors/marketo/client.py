"""Every Marketo REST call: a limiter slot, the bearer token, the envelope, and the policy table's
verdict on failure; retries, waits and the deadline are the shared retry loop's.

Reads that take filter values go through `read`: a GET, or, once the URI would pass Marketo's
8 KB, a POST with `?_method=GET` and the same parameters as a form body (Marketo's documented
answer to HTTP 414). Paged reads go through `read_pages`, on the shared paging loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlencode

import requests

from sync.connectors.http.deadline import Deadline, resolve
from sync.connectors.http.failures import Action, ConnectorError, Rule
from sync.connectors.http.paging import Paginator, follow, marketo_next_page_token
from sync.connectors.http.retry_after import retry_after_seconds
from sync.connectors.http.retrying import Retryer, RetryPolicy
from sync.connectors.marketo.auth import MarketoToken
from sync.connectors.marketo.envelope import Envelope
from sync.connectors.marketo.errors import (
    MarketoAuthFailed,
    MarketoError,
    MarketoFatal,
    MarketoPayloadTooLarge,
    MarketoQuotaExhausted,
    MarketoReauthenticate,
    MarketoRetryable,
)
from sync.connectors.marketo.limiter import MarketoLimiter, next_reset
from sync.connectors.marketo.policy import BLANK_INPUT, named_error, rule_for_code, rule_for_status
from sync.connectors.transport import HttpTransport

USAGE_PATH: Final = "/rest/v1/stats/usage.json"
MAX_URI_BYTES: Final = 8000  # Marketo refuses URIs over 8 KB (414); keep a little headroom
IDLE_USAGE_REFRESH_S: Final = 3600.0
BUSY_CALLS: Final = 100  # calls since the last usage read that make the sync "busy"


def _error_for(rule: Rule, code: str, message: str, request_id: str | None, wait_s: float | None) -> MarketoError:
    """The policy row's verdict as the exception the caller can catch by name."""
    named = named_error(code, message)
    if named is not None and rule.action is Action.FAIL:
        return named(code, message, kind=rule.kind, request_id=request_id)
    if rule.action is Action.REAUTHENTICATE:
        return MarketoReauthenticate(code, message, request_id)
    if rule.action in (Action.RETRY, Action.WAIT):
        return MarketoRetryable(code, message, kind=rule.kind, action=rule.action, wait_s=wait_s, request_id=request_id)
    if rule.action is Action.STOP:
        return MarketoQuotaExhausted(code, message, next_reset(datetime.now(UTC)), request_id)
    return MarketoFatal(code, message, kind=rule.kind, request_id=request_id)


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    raw: bool = False  # a file endpoint: the body as bytes unless Marketo answers with an envelope
    headers: dict[str, str] | None = None


class _TokenRenewal:
    def __init__(self, token: MarketoToken) -> None:
        self._token = token

    def renew(self, error: ConnectorError) -> None:
        if isinstance(error, MarketoError) and error.token_serial is not None:
            self._token.invalidate(error.token_serial)

    def refused(self, error: ConnectorError) -> ConnectorError:
        return MarketoAuthFailed(
            error.code,
            "Marketo rejected a freshly issued token; check the API user's role and the LaunchPoint service",
            error.request_id,
        )


class MarketoClient:
    def __init__(
        self,
        base_url: str,
        token: MarketoToken,
        limiter: MarketoLimiter,
        transport: HttpTransport,
        *,
        retry: RetryPolicy | None = None,
        call_deadline_s: float = 240.0,
        usage_refresh_s: float = 300.0,
    ) -> None:
        self.base_url, self.token, self.limiter, self.transport = base_url, token, limiter, transport
        self.retry = Retryer(
            "Marketo", retry or RetryPolicy(), lambda text: MarketoRetryable("transport", text), _TokenRenewal(token)
        )
        self.call_deadline_s = call_deadline_s
        self._usage_refresh_s = usage_refresh_s
        self._usage_read_at = float("-inf")
        self._usage_calls_at = 0
        self.on_usage: Callable[[int], None] | None = None  # e.g. keep the count for the status page
        self._usage_lock = threading.Lock()
        self.clock_offset_s = 0.0  # Marketo's clock minus ours, from its last answer's Date header

    # calls

    def server_now(self) -> datetime:
        """Marketo's time now (to the second), as its last answer's Date header says: what its
        activity dates are stamped by, whatever our clock says."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        deadline: Deadline | None = None,
        idempotent: bool = True,
    ) -> Envelope:
        """One logical call: an envelope with success=true, or a MarketoError saying what to do.
        A call that is not `idempotent` is never repeated after it may have been carried out."""
        result = self._call(_Request(method, path, params, json, data, files), deadline, idempotent)
        assert isinstance(result, Envelope)
        return result

    def read(self, path: str, params: dict[str, Any], *, deadline: Deadline | None = None) -> Envelope:
        """A read with query parameters, sent so that its URI never passes 8 KB."""
        if len(path) + 1 + len(urlencode(params)) > MAX_URI_BYTES:
            return self.call("POST", path, params={"_method": "GET"}, data=params, deadline=deadline)
        return self.call("GET", path, params=params, deadline=deadline)

    def read_pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        json_body: dict[str, Any] | None = None,
        next_cursor: Paginator[Envelope] = marketo_next_page_token,
        token: str | None = None,
    ) -> Iterator[Envelope]:
        """Every page of a read, from `token` (None: the first page). Compound keys (a JSON
        `json_body`) go as POST ?_method=GET, the token in the body; plain parameters via `read`."""

        def fetch(cursor: str | None) -> Envelope:
            if json_body is not None:
                body = {**json_body, "nextPageToken": cursor} if cursor else json_body
                return self.call("POST", path, params={"_method": "GET"}, json=body)
            return self.read(path, {**(params or {}), "nextPageToken": cursor} if cursor else dict(params or {}))

        return follow(fetch, next_cursor, token)

    def download(
        self, path: str, params: dict[str, Any] | None = None, *, byte_range: tuple[int, int] | None = None
    ) -> bytes:
        """A file endpoint (bulk extract, import failures): the body, under the same limits and
        policy; `byte_range` (first, last byte) asks for a part of it, as Marketo's extract files
        allow, so a file of hundreds of MB is read a part at a time."""
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else None
        result = self._call(_Request("GET", path, params, raw=True, headers=headers), None)
        assert isinstance(result, bytes)
        return result

    def may_write(self, path: str) -> None:
        """Whether the API user may write at `path`: raises the MarketoError if not. An empty
        input is refused as blank only after the permission check, so nothing is written."""
        try:
            self.call("POST", path, json={"input": []})
        except MarketoError as error:
            if error.code != BLANK_INPUT:
                raise

    def refresh_usage(self) -> int:
        """Read today's call count from Marketo and let the limiter's budget use it."""
        with self._usage_lock:
            self._usage_read_at = time.monotonic()
        return self._read_usage()

    # internals

    def _call(self, request: _Request, deadline: Deadline | None, idempotent: bool = True) -> Envelope | bytes:
        if request.path != USAGE_PATH:
            self._refresh_usage_if_due()
        operation = f"{request.method} {request.path}"
        return self.retry.call(
            operation,
            lambda limit: self._attempt(request, limit),
            resolve(deadline, self.call_deadline_s),
            idempotent=idempotent,
        )

    def _read_usage(self) -> int:
        envelope = self.call("GET", USAGE_PATH)
        total = int(envelope.result[0].get("total", 0)) if envelope.result else 0
        self.limiter.record_usage(total)
        if self.on_usage is not None:
            self.on_usage(total)
        return total

    def _refresh_usage_if_due(self) -> None:
        """Marketo's own count of today's calls (other integrations spend the quota too): read every
        `usage_refresh_s` while the sync is busy, hourly when it is idle, so that a quiet instance
        with 1-minute timers spends 24 calls a day on it, not 288."""
        with self._usage_lock:  # claim the read, so concurrent callers do not all make it
            elapsed = time.monotonic() - self._usage_read_at
            busy = self.limiter.calls_made - self._usage_calls_at >= BUSY_CALLS
            if elapsed < self._usage_refresh_s or (not busy and elapsed < IDLE_USAGE_REFRESH_S):
                return
            self._usage_read_at = time.monotonic()
            self._usage_calls_at = self.limiter.calls_made
        self._read_usage()

    def _attempt(self, request: _Request, deadline: Deadline) -> Envelope | bytes:
        token, serial = self.token.issue()
        with self.limiter.slot(deadline):
            response = self.transport.request(
                request.method,
                f"{self.base_url}{request.path}",
                params=request.params,
                json=request.json,
                data=request.data,
                files=request.files,
                headers={**(request.headers or {}), "Authorization": f"Bearer {token}"},
                timeout=deadline.timeout(self.retry.policy.request_timeout_s),
            )
            return self._answer(request, response, serial)  # in the slot: a 606 holds the others first

    def _answer(self, request: _Request, response: requests.Response, serial: int) -> Envelope | bytes:
        self._note_server_time(response.headers.get("Date"))
        if response.status_code != 200 and not (request.raw and response.status_code == 206):
            raise self._status_error(response, serial)
        if request.raw and not response.headers.get("Content-Type", "").startswith("application/json"):
            self.limiter.admitted()
            return bytes(response.content)
        try:
            envelope = Envelope.model_validate(response.json())
        except ValueError as exc:
            raise MarketoRetryable(
                "invalid-body", f"Marketo answered HTTP 200 with a body that is not an envelope: {exc}"
            ) from exc
        if envelope.success:
            self.limiter.admitted()
            return envelope
        issue = envelope.errors[0] if envelope.errors else None
        code, message = (issue.code, issue.message) if issue else ("unknown", "success=false without errors")
        rule = rule_for_code(code, message)
        wait = None
        if rule.action is Action.WAIT:  # 606, the only code to wait on
            wait, counted = self.limiter.window_full()
            message = f"{message} ({counted})"
        else:
            self.limiter.admitted()
        error = _error_for(rule, code, message, envelope.request_id, wait)
        error.token_serial = serial
        raise error

    def _note_server_time(self, header: str | None) -> None:
        try:
            stamp = parsedate_to_datetime(header) if header else None
        except (TypeError, ValueError):
            return
        if stamp is not None and stamp.tzinfo is not None:
            self.clock_offset_s = (stamp - datetime.now(UTC)).total_seconds() + 0.5  # the header drops fractions

    @staticmethod
    def _status_error(response: requests.Response, serial: int) -> MarketoError:
        status = response.status_code
        if status in (413, 414):
            return MarketoPayloadTooLarge(str(status), "request too large for Marketo (body <= 1 MB, URI <= 8 KB)")
        rule = rule_for_status(status)
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        error = _error_for(rule, str(status), f"HTTP {status} from Marketo: {response.text[:200]}", None, wait)
        error.token_serial = serial
        return error


__all__ = ["MarketoClient", "MarketoError"]
