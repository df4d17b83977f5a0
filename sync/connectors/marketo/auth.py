"""Marketo access tokens: fetched with client credentials, reused until shortly before expiry,
dropped on 601/602. Identity calls do not count against Marketo's limits."""

from __future__ import annotations

import threading
import time

import requests
from pydantic import SecretStr

from sync.connectors.marketo.errors import MarketoAuthFailed, MarketoRetryable
from sync.connectors.transport import HttpTransport


class MarketoToken:
    def __init__(
        self,
        transport: HttpTransport,
        base_url: str,
        client_id: str,
        client_secret: SecretStr,
        refresh_margin_s: float = 60.0,
    ) -> None:
        self._transport, self._url = transport, f"{base_url}/identity/oauth/token"
        self._client_id, self._client_secret = client_id, client_secret
        self._margin = refresh_margin_s
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetches = 0

    def issue(self) -> tuple[str, int]:
        """The current token and its serial number (which fetch made it)."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at - self._margin:
                self._fetch()
            assert self._token is not None
            return self._token, self.fetches

    def get(self) -> str:
        return self.issue()[0]

    def invalidate(self, serial: int) -> None:
        """Forget the token of fetch `serial` (601/602) unless another thread already replaced it."""
        with self._lock:
            if self.fetches == serial:
                self._token = None

    def _fetch(self) -> None:
        try:
            response = self._transport.request(
                "GET",
                self._url,
                params={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret.get_secret_value(),
                },
            )
        except requests.RequestException as exc:
            # requests puts the whole URL, client secret included, in its messages: never pass them on
            raise MarketoRetryable(
                "identity", f"could not reach Marketo's identity endpoint ({type(exc).__name__})"
            ) from None
        if response.status_code in (400, 401, 403):
            try:
                detail = response.json().get("error_description") or response.json().get("error")
            except ValueError:
                detail = response.text[:200]
            raise MarketoAuthFailed(
                "identity",
                f"Marketo refused the client credentials ({response.status_code}: {detail}). "
                "Check MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET against the LaunchPoint custom service.",
            )
        if response.status_code != 200:
            raise MarketoRetryable(str(response.status_code), f"identity endpoint answered HTTP {response.status_code}")
        body = response.json()
        self._token = str(body["access_token"])
        self._expires_at = time.monotonic() + float(body.get("expires_in", 0))
        self.fetches += 1
