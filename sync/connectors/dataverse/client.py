"""Every Dataverse Web API call: token, OData headers, adaptive concurrency and the retry policy
(429 honours Retry-After in seconds or as an HTTP date; 502/503/504 back off with jitter; 401
refreshes the token once)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from sync.connectors.dataverse.auth import DataverseToken
from sync.connectors.dataverse.concurrency import AdaptiveConcurrency
from sync.connectors.dataverse.errors import (
    ChangeTokenExpired,
    DataverseError,
    DataverseRetryable,
    DataverseUnauthorized,
)
from sync.connectors.dataverse.policy import CHANGE_TOKEN_EXPIRED_TEXT, Action, action_for
from sync.connectors.transport import HttpTransport

log = logging.getLogger(__name__)
API_PATH = "/api/data/v9.2/"
BASE_HEADERS = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
}


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds, from either form HTTP allows (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class DataverseClient:
    def __init__(
        self,
        org_url: str,
        token: DataverseToken,
        transport: HttpTransport,
        concurrency: AdaptiveConcurrency | None = None,
        *,
        max_attempts: int = 6,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = 300.0,
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self.api = f"{self.org_url}{API_PATH}"
        self.token, self.transport = token, transport
        self.concurrency = concurrency or AdaptiveConcurrency()
        self.max_attempts, self.max_retry_after_s = max_attempts, max_retry_after_s
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s
        )
        self.calls = 0

    def url(self, path_or_url: str) -> str:
        return (
            path_or_url if path_or_url.startswith(("https://", "http://")) else f"{self.api}{path_or_url.lstrip('/')}"
        )

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        prefer: list[str] | None = None,
    ) -> requests.Response:
        """A 2xx response, or DataverseError (its subclasses say what happened)."""
        refreshed = False

        def attempt() -> requests.Response:
            nonlocal refreshed
            try:
                return self._attempt(method, path_or_url, params, json, data, headers, prefer)
            except DataverseUnauthorized:
                if refreshed:
                    raise
                refreshed = True
                self.token.refresh()
                return self._attempt(method, path_or_url, params, json, data, headers, prefer)

        retrying = Retrying(
            retry=retry_if_exception_type((DataverseRetryable, requests.ConnectionError, requests.Timeout)),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
            before_sleep=lambda s: log.warning(
                "Dataverse call retried",
                extra={"attempt": s.attempt_number, "error": str(s.outcome.exception() if s.outcome else "")},
            ),
        )
        return retrying(attempt)

    def get_json(
        self, path_or_url: str, *, params: dict[str, Any] | None = None, prefer: list[str] | None = None
    ) -> dict[str, Any]:
        body = self.request("GET", path_or_url, params=params, prefer=prefer).json()
        return dict(body)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, DataverseRetryable) and error.wait_s is not None:
            return min(error.wait_s, self.max_retry_after_s)
        return float(self._backoff(state))

    def _attempt(
        self,
        method: str,
        path_or_url: str,
        params: dict[str, Any] | None,
        json: Any,
        data: bytes | None,
        headers: dict[str, str] | None,
        prefer: list[str] | None,
    ) -> requests.Response:
        all_headers = {**BASE_HEADERS, "Authorization": f"Bearer {self.token.get()}", **(headers or {})}
        if json is not None or (data is not None and "Content-Type" not in all_headers):
            all_headers.setdefault("Content-Type", "application/json")
        if prefer:
            all_headers["Prefer"] = ",".join(prefer)
        with self.concurrency.slot():
            self.calls += 1
            response = self.transport.request(
                method, self.url(path_or_url), params=params, json=json, data=data, headers=all_headers
            )
        if response.status_code < 400:
            self.concurrency.succeeded()
            return response
        code, message = _error_of(response)
        action = action_for(response.status_code)
        if action is Action.HONOUR_RETRY_AFTER:
            self.concurrency.throttled()
            raise DataverseRetryable(
                response.status_code, code, message, retry_after_seconds(response.headers.get("Retry-After"))
            )
        if action is Action.BACK_OFF:
            raise DataverseRetryable(response.status_code, code, message)
        if action is Action.REFRESH_TOKEN:
            raise DataverseUnauthorized(401, code or "401", message or "the access token was refused")
        if CHANGE_TOKEN_EXPIRED_TEXT in message:
            raise ChangeTokenExpired(response.status_code, code, message)
        raise DataverseError(response.status_code, code, message)


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))
    except ValueError:
        return "", response.text[:300]
