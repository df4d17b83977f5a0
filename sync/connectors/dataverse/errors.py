"""What a Dataverse call can end in. Every class is a ConnectorError carrying its policy row's
action and failure kind, plus the HTTP status."""

from __future__ import annotations

from sync.connectors.http.failures import Action, ConnectorError, FailureKind


class DataverseError(ConnectorError):
    """The Web API refused the request: HTTP status, Dataverse's hex code and message."""

    service = "Dataverse"

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        kind: FailureKind = FailureKind.FATAL,
        action: Action = Action.FAIL,
        wait_s: float | None = None,
    ) -> None:
        self.status = status
        super().__init__(code or f"HTTP {status}", message, kind=kind, action=action, wait_s=wait_s)


class DataverseRetryable(DataverseError):
    """429 / 5xx / a dropped connection: retried by the policy; raised when attempts or the deadline run out."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        wait_s: float | None = None,
        *,
        kind: FailureKind = FailureKind.TRANSIENT,
        action: Action = Action.RETRY,
    ) -> None:
        super().__init__(status, code, message, kind=kind, action=action, wait_s=wait_s)


class DataverseUnauthorized(DataverseError):
    """401: the token was refused; renewed once, then this is raised (check the application user)."""

    def __init__(self, status: int, code: str, message: str, *, action: Action = Action.REAUTHENTICATE) -> None:
        super().__init__(status, code, message, kind=FailureKind.AUTH_CONFIG, action=action)


class ChangeTokenExpired(DataverseError):
    """The delta link's version stamp is older than the org keeps changes: re-baseline this table."""


class ChangeTrackingDisabled(DataverseError):
    """The table has ChangeTrackingEnabled = false: read it with the modifiedon cursor instead."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message, kind=FailureKind.AUTH_CONFIG)
