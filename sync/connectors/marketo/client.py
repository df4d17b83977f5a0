"""Every Marketo REST call: limiter slot, bearer token, envelope parsing, and the error policy
(retry with backoff, wait out the window, re-authenticate once, stop at the quota)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from sync.connectors.marketo.auth import MarketoToken
from sync.connectors.marketo.envelope import Envelope
from sync.connectors.marketo.errors import (
    MarketoError,
    MarketoFatal,
    MarketoPayloadTooLarge,
    MarketoQuotaExhausted,
    MarketoReauthenticate,
    MarketoRetryable,
)
from sync.connectors.marketo.limiter import MarketoLimiter, next_reset
from sync.connectors.marketo.policy import Action, action_for_code, action_for_status
from sync.connectors.transport import HttpTransport

log = logging.getLogger(__name__)

USAGE_PATH = "/rest/v1/stats/usage.json"


class MarketoClient:
    def __init__(
        self,
        base_url: str,
        token: MarketoToken,
        limiter: MarketoLimiter,
        transport: HttpTransport,
        *,
        max_attempts: int = 6,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        usage_refresh_s: float = 300.0,
    ) -> None:
        self.base_url, self.token, self.limiter, self.transport = base_url, token, limiter, transport
        self.max_attempts = max_attempts
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s
        )
        self._usage_refresh_s = usage_refresh_s
        self._usage_read_at = float("-inf")
        self._usage_lock = threading.Lock()

    # public

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Envelope:
        """One logical call; raises MarketoQuotaExhausted, MarketoFatal, or the last transient error."""
        result = self._call(method, path, params=params, json=json, data=data, files=files, raw=False)
        assert isinstance(result, Envelope)
        return result

    def download(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """A file endpoint (bulk extract, import failures): the body, under the same limits and policy."""
        result = self._call("GET", path, params=params, json=None, data=None, files=None, raw=True)
        assert isinstance(result, bytes)
        return result

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        data: dict[str, Any] | None,
        files: dict[str, Any] | None,
        raw: bool,
    ) -> Envelope | bytes:
        if path != USAGE_PATH:
            self._refresh_usage_if_due()
        reauthenticated = False

        def attempt() -> Envelope | bytes:
            nonlocal reauthenticated
            try:
                return self._attempt(method, path, params, json, data, files, raw)
            except MarketoReauthenticate:
                if reauthenticated:
                    raise MarketoFatal(
                        "602", "Marketo rejected a freshly issued token; check the API user's role"
                    ) from None
                reauthenticated = True
                raise

        retrying = Retrying(
            retry=retry_if_exception_type((MarketoRetryable, requests.ConnectionError, requests.Timeout)),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
            before_sleep=self._log_retry,
        )
        return retrying(attempt)

    def refresh_usage(self) -> int:
        """Read today's call count from Marketo and let the limiter's budget use it."""
        with self._usage_lock:
            self._usage_read_at = time.monotonic()
        return self._read_usage()

    # internals

    def _read_usage(self) -> int:
        envelope = self.call("GET", USAGE_PATH)
        total = int(envelope.result[0].get("total", 0)) if envelope.result else 0
        self.limiter.record_usage(total)
        return total

    def _refresh_usage_if_due(self) -> None:
        with self._usage_lock:  # claim the read, so concurrent callers do not all make it
            if time.monotonic() - self._usage_read_at < self._usage_refresh_s:
                return
            self._usage_read_at = time.monotonic()
        self._read_usage()

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, MarketoReauthenticate):
            return 0.0
        if isinstance(error, MarketoRetryable) and error.wait_s is not None:
            return error.wait_s
        return float(self._backoff(state))

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning("Marketo call retried", extra={"attempt": state.attempt_number, "error": str(error)})

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        data: dict[str, Any] | None,
        files: dict[str, Any] | None,
        raw: bool,
    ) -> Envelope | bytes:
        token = self.token.get()
        with self.limiter.slot():
            response = self.transport.request(
                method,
                f"{self.base_url}{path}",
                params=params,
                json=json,
                data=data,
                files=files,
                headers={"Authorization": f"Bearer {token}"},
            )
        if response.status_code != 200:
            self._raise_for_status(response)
        if raw and not response.headers.get("Content-Type", "").startswith("application/json"):
            return response.content
        try:
            envelope = Envelope.model_validate(response.json())
        except ValueError as exc:
            raise MarketoRetryable(
                "invalid-body", f"Marketo answered HTTP 200 with a body that is not an envelope: {exc}"
            ) from exc
        if envelope.success:
            return envelope
        issue = envelope.errors[0] if envelope.errors else None
        code, message = (issue.code, issue.message) if issue else ("unknown", "success=false without errors")
        action = action_for_code(code, message)
        if action is Action.REAUTHENTICATE:
            self.token.invalidate(token)
            raise MarketoReauthenticate(code, message, envelope.request_id)
        if action is Action.WAIT_WINDOW:
            raise MarketoRetryable(code, message, envelope.request_id, wait_s=self.limiter.window_s)
        if action is Action.BACK_OFF:
            raise MarketoRetryable(code, message, envelope.request_id)
        if action is Action.STOP_UNTIL_RESET:
            raise MarketoQuotaExhausted(code, message, next_reset(datetime.now(UTC)), envelope.request_id)
        raise MarketoFatal(code, message, envelope.request_id)

    @staticmethod
    def _raise_for_status(response: requests.Response) -> None:
        status = response.status_code
        action = action_for_status(status)
        if status in (413, 414):
            raise MarketoPayloadTooLarge(str(status), "request too large for Marketo (body <= 1 MB, URI <= 8 KB)")
        if action is Action.BACK_OFF:
            retry_after = response.headers.get("Retry-After")
            wait = float(retry_after) if retry_after and retry_after.isdigit() else None
            raise MarketoRetryable(str(status), f"HTTP {status} from Marketo", wait_s=wait)
        raise MarketoFatal(str(status), f"HTTP {status} from Marketo: {response.text[:300]}")


__all__ = ["MarketoClient", "MarketoError"]
