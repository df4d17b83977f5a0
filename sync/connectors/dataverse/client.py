"""Every Dataverse Web API call: token, OData headers, adaptive concurrency, and the policy
table's verdict on failure; retries, waits (Retry-After in seconds or as an HTTP date) and the
deadline are the shared retry loop's. Paged reads follow `@odata.nextLink` on the shared
paging loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import requests

from sync import tally
from sync.connectors.dataverse.auth import DataverseToken
from sync.connectors.dataverse.concurrency import AdaptiveConcurrency
from sync.connectors.dataverse.errors import DataverseError, DataverseRetryable, DataverseUnauthorized
from sync.connectors.dataverse.policy import error_class_for, rule_for
from sync.connectors.http.deadline import Deadline, resolve
from sync.connectors.http.failures import Action, ConnectorError
from sync.connectors.http.paging import follow, odata_next_link
from sync.connectors.http.retry_after import retry_after_seconds
from sync.connectors.http.retrying import Retryer, RetryPolicy
from sync.connectors.transport import HttpTransport

API_PATH: Final = "/api/data/v9.2/"
BASE_HEADERS: Final = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
}


class _CredentialRenewal:
    def __init__(self, token: DataverseToken) -> None:
        self._token = token

    def renew(self, error: ConnectorError) -> None:
        self._token.refresh()

    def refused(self, error: ConnectorError) -> ConnectorError:
        return DataverseUnauthorized(
            401,
            error.code,
            f"{error.message or 'the access token was refused'} (refused again with a fresh token: check "
            "that the application user exists in this org, is enabled and has a security role)",
            action=Action.FAIL,
        )


class DataverseClient:
    def __init__(
        self,
        org_url: str,
        token: DataverseToken,
        transport: HttpTransport,
        concurrency: AdaptiveConcurrency | None = None,
        *,
        retry: RetryPolicy | None = None,
        call_deadline_s: float = 240.0,
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self.api = f"{self.org_url}{API_PATH}"
        self.token, self.transport = token, transport
        self.concurrency = concurrency or AdaptiveConcurrency()
        self.retry = Retryer(
            "Dataverse",
            retry or RetryPolicy(),
            lambda text: DataverseRetryable(0, "transport", text),
            _CredentialRenewal(token),
        )
        self.call_deadline_s = call_deadline_s
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
        deadline: Deadline | None = None,
    ) -> requests.Response:
        """A 2xx response, or a DataverseError (its subclasses say what happened)."""

        def attempt(limit: Deadline) -> requests.Response:
            return self._attempt(method, path_or_url, params, json, data, headers, prefer, limit)

        operation = f"{method} {path_or_url.split('?', 1)[0].removeprefix(self.api)}"
        return self.retry.call(operation, attempt, resolve(deadline, self.call_deadline_s))

    def get_json(
        self, path_or_url: str, *, params: dict[str, Any] | None = None, prefer: list[str] | None = None
    ) -> dict[str, Any]:
        return dict(self.request("GET", path_or_url, params=params, prefer=prefer).json())

    def read_pages(
        self, path_or_url: str, *, params: dict[str, Any] | None = None, prefer: list[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every page of a read: the first with `params`, then each `@odata.nextLink` as given."""

        def fetch(next_link: str | None) -> dict[str, Any]:
            if next_link is None:
                return self.get_json(path_or_url, params=params, prefer=prefer)
            return self.get_json(next_link, prefer=prefer)

        return follow(fetch, odata_next_link)

    def _attempt(
        self,
        method: str,
        path_or_url: str,
        params: dict[str, Any] | None,
        json: Any,
        data: bytes | None,
        headers: dict[str, str] | None,
        prefer: list[str] | None,
        deadline: Deadline,
    ) -> requests.Response:
        all_headers = {**BASE_HEADERS, "Authorization": f"Bearer {self.token.get()}", **(headers or {})}
        if json is not None or (data is not None and "Content-Type" not in all_headers):
            all_headers.setdefault("Content-Type", "application/json")
        if prefer:
            all_headers["Prefer"] = ",".join(prefer)
        with self.concurrency.slot(deadline):
            self.calls += 1
            tally.count("dataverse")
            response = self.transport.request(
                method,
                self.url(path_or_url),
                params=params,
                json=json,
                data=data,
                headers=all_headers,
                timeout=deadline.timeout(self.retry.policy.request_timeout_s),
            )
        if response.status_code < 400:
            self.concurrency.succeeded()
            return response
        raise self._error(response)

    def _error(self, response: requests.Response) -> DataverseError:
        status = response.status_code
        code, message = _error_of(response)
        rule = rule_for(status)
        if status == 429:
            self.concurrency.throttled()
        if rule.action is Action.REAUTHENTICATE:
            return DataverseUnauthorized(status, code, message or "the access token was refused")
        if rule.action in (Action.RETRY, Action.WAIT):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            return DataverseRetryable(status, code, message, wait, kind=rule.kind, action=rule.action)
        special = error_class_for(message)
        if special is not None:
            return special(status, code, message)
        return DataverseError(status, code, message, kind=rule.kind)


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))
    except ValueError:
        return "", response.text[:300]
