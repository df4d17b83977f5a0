"""What a Marketo call can end in. Every class is a ConnectorError carrying its policy row's
action and failure kind; the class names say what the caller should do."""

from __future__ import annotations

from datetime import datetime

from sync.connectors.http.failures import Action, ConnectorError, FailureKind


class MarketoError(ConnectorError):
    """A response-level error (HTTP 200, success=false), an HTTP failure, or a transport failure."""

    service = "Marketo"
    token_serial: int | None = None  # which token a 601/602 refused: the one to drop, not a newer one


class MarketoRetryable(MarketoError):
    """Transient or throttled (timeouts, 5xx, rate window, concurrency): the retry loop waits and
    tries again; raised once attempts or the deadline run out."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        kind: FailureKind = FailureKind.TRANSIENT,
        action: Action = Action.RETRY,
        wait_s: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(code, message, kind=kind, action=action, wait_s=wait_s, request_id=request_id)


class MarketoReauthenticate(MarketoRetryable):
    """601 / 602: the token is invalid or expired; get a new one and retry once."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(
            code, message, kind=FailureKind.AUTH_CONFIG, action=Action.REAUTHENTICATE, request_id=request_id
        )


class MarketoQuotaExhausted(MarketoError):
    """607, the bulk export quota, or the configured daily budget: stop until the reset; never retried."""

    def __init__(self, code: str, message: str, resets_at: datetime, request_id: str | None = None) -> None:
        super().__init__(code, message, kind=FailureKind.QUOTA, action=Action.STOP, request_id=request_id)
        self.resets_at = resets_at


class MarketoFatal(MarketoError):
    """Access denied, bad request, unknown resource: retrying cannot help; fix the call or config."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        kind: FailureKind = FailureKind.FATAL,
        request_id: str | None = None,
    ) -> None:
        super().__init__(code, message, kind=kind, action=Action.FAIL, request_id=request_id)


class MarketoAuthFailed(MarketoFatal):
    """Marketo refused the client credentials, or a freshly issued token: an admin must act."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(code, message, kind=FailureKind.AUTH_CONFIG, request_id=request_id)


class MarketoPayloadTooLarge(MarketoFatal):
    """HTTP 413 / 414: the caller must split the request (bodies <= 1 MB, URIs <= 8 KB)."""


class PagingTokenRefused(MarketoFatal):
    """1003 on a paging token: Marketo no longer accepts it; start again from a new one."""
