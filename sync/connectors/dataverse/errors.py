"""What a Dataverse call can end in."""

from __future__ import annotations


class DataverseError(Exception):
    """The Web API refused the request: HTTP status, Dataverse's hex code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"Dataverse {status} {code}: {message}")


class DataverseRetryable(DataverseError):
    """429 / 5xx / a connection failure: retried by the policy; raised when attempts run out."""

    def __init__(self, status: int, code: str, message: str, wait_s: float | None = None) -> None:
        super().__init__(status, code, message)
        self.wait_s = wait_s


class DataverseUnauthorized(DataverseError):
    """401: the token was refused; refreshed once, then this is raised (check the application user)."""


class ChangeTokenExpired(DataverseError):
    """The delta link's version stamp is older than the org keeps changes: re-baseline this table."""


class ChangeTrackingDisabled(Exception):
    """The table has ChangeTrackingEnabled = false: read it with the modifiedon cursor instead."""
