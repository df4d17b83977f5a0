"""Dataverse's answers → what the client does and what kind of failure it is. Policy as data."""

from __future__ import annotations

from typing import Final

from sync.connectors.dataverse.errors import ChangeTokenExpired, ChangeTrackingDisabled, DataverseError
from sync.connectors.http.failures import Action, FailureKind, Rule

FAIL: Final = Rule(Action.FAIL, FailureKind.FATAL)
_TRANSIENT = Rule(Action.RETRY, FailureKind.TRANSIENT)

STATUS_POLICY: Final[dict[int, Rule]] = {
    429: Rule(Action.WAIT, FailureKind.THROTTLED),  # service protection: wait as Retry-After says
    502: _TRANSIENT,
    503: _TRANSIENT,
    504: _TRANSIENT,
    401: Rule(Action.REAUTHENTICATE, FailureKind.AUTH_CONFIG),
    403: Rule(Action.FAIL, FailureKind.AUTH_CONFIG),  # the application user lacks a privilege
}

# Conditions Dataverse reports under a generic status, told apart by their message.
MESSAGE_ERRORS: Final[tuple[tuple[str, type[DataverseError]], ...]] = (
    ("Version stamp associated with the client has expired", ChangeTokenExpired),
    ("Change tracking is not enabled", ChangeTrackingDisabled),
    ("not enabled for change tracking", ChangeTrackingDisabled),
)

# One record's failed write (UpsertMultiple isolated through $batch): what kind of failure it is.
RECORD_STATUS_KIND: Final[dict[int, FailureKind]] = {
    400: FailureKind.BAD_RECORD,  # invalid value, read-only record
    404: FailureKind.BAD_RECORD,  # the record (or a lookup target) does not exist
    409: FailureKind.BAD_RECORD,  # duplicate key
    412: FailureKind.BAD_RECORD,  # changed since read (If-Match)
    401: FailureKind.AUTH_CONFIG,
    403: FailureKind.AUTH_CONFIG,
    429: FailureKind.THROTTLED,
    500: FailureKind.TRANSIENT,
    502: FailureKind.TRANSIENT,
    503: FailureKind.TRANSIENT,
    504: FailureKind.TRANSIENT,
}


def rule_for(status: int) -> Rule:
    return STATUS_POLICY.get(status, FAIL)


def error_class_for(message: str) -> type[DataverseError] | None:
    return next((cls for needle, cls in MESSAGE_ERRORS if needle in message), None)


def record_kind(status: int) -> FailureKind:
    return RECORD_STATUS_KIND.get(status, FailureKind.FATAL)
