"""What a Marketo call can end in, and what the caller should do about it."""

from __future__ import annotations

from datetime import datetime


class MarketoError(Exception):
    """A response-level error Marketo reported (HTTP 200, success=false), or an HTTP failure."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        self.code, self.message, self.request_id = code, message, request_id
        super().__init__(f"Marketo error {code}: {message}" + (f" (request {request_id})" if request_id else ""))


class MarketoRetryable(MarketoError):
    """Transient (rate window, concurrency, timeouts, 5xx): the retry policy waits and tries again."""

    def __init__(self, code: str, message: str, request_id: str | None = None, wait_s: float | None = None) -> None:
        super().__init__(code, message, request_id)
        self.wait_s = wait_s


class MarketoReauthenticate(MarketoRetryable):
    """601 / 602: the token is invalid or expired; get a new one and retry once."""


class MarketoQuotaExhausted(MarketoError):
    """607 or the configured daily budget: stop cleanly until the reset; never retried."""

    def __init__(self, code: str, message: str, resets_at: datetime, request_id: str | None = None) -> None:
        super().__init__(code, message, request_id)
        self.resets_at = resets_at


class MarketoFatal(MarketoError):
    """Access denied, bad request, unknown resource: retrying cannot help; fix the call or config."""


class MarketoAuthFailed(MarketoFatal):
    """The identity endpoint refused the credentials: MARKETO_CLIENT_ID / MARKETO_CLIENT_SECRET are wrong."""


class MarketoPayloadTooLarge(MarketoFatal):
    """HTTP 413 / 414: the caller must split the request (bodies <= 1 MB, URIs <= 8 KB)."""
