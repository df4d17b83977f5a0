"""Marketo's answers → what the client does, what kind of failure it is, and what it means by
name. Policy as data.

Response-level errors arrive as HTTP 200 with `success: false` and a code; HTTP-level ones as
a status; record-level ones as `reasons` on one record of a batch. Unknown codes are fatal.
Callers never read codes: a response-level error the engine acts on is raised as its own class
(`NAMED_ERRORS`), a record-level reason comes as a named `Refusal` with its failure kind.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sync.connectors.http.failures import Action, FailureKind, Rule
from sync.connectors.marketo.errors import MarketoError, PagingTokenRefused

_REAUTHENTICATE = Rule(Action.REAUTHENTICATE, FailureKind.AUTH_CONFIG)
_TRANSIENT = Rule(Action.RETRY, FailureKind.TRANSIENT)
_THROTTLED = Rule(Action.RETRY, FailureKind.THROTTLED)
_QUOTA = Rule(Action.STOP, FailureKind.QUOTA)
_CONFIG = Rule(Action.FAIL, FailureKind.AUTH_CONFIG)
FATAL: Final = Rule(Action.FAIL, FailureKind.FATAL)

# (code, substring of the lower-cased message or "", rule); the first match wins.
ERROR_CODE_POLICY: Final[tuple[tuple[str, str, Rule], ...]] = (
    ("601", "", _REAUTHENTICATE),  # access token invalid
    ("602", "", _REAUTHENTICATE),  # access token expired
    ("604", "", _TRANSIENT),  # request time-out
    ("606", "", Rule(Action.WAIT, FailureKind.THROTTLED)),  # 100 calls / 20 s: wait till a slot frees
    ("608", "", _TRANSIENT),  # API temporarily unavailable
    ("611", "", _TRANSIENT),  # system error
    ("615", "", _THROTTLED),  # 10 concurrent calls
    ("713", "", _TRANSIENT),  # transient error
    ("1016", "", _THROTTLED),  # too many bulk imports queued
    ("607", "", _QUOTA),  # daily quota reached
    ("1029", "quota", _QUOTA),  # bulk export daily quota (500 MB)
    ("1029", "", _THROTTLED),  # too many bulk jobs queued: try again later
    ("600", "", _CONFIG),  # access token not specified
    ("603", "", _CONFIG),  # access denied: the API user's role lacks a permission
    ("703", "", _CONFIG),  # feature not enabled for the subscription
    ("605", "", FATAL),  # HTTP method not supported
    ("609", "", FATAL),  # invalid JSON
    ("610", "", FATAL),  # requested resource not found
    ("612", "", FATAL),  # invalid content type
)

# HTTP statuses Marketo (or a gateway in front of it) answers with; 429/503 may carry Retry-After.
HTTP_STATUS_POLICY: Final[dict[int, Rule]] = {
    429: Rule(Action.WAIT, FailureKind.THROTTLED),
    500: _TRANSIENT,
    502: _TRANSIENT,
    503: Rule(Action.WAIT, FailureKind.TRANSIENT),
    504: _TRANSIENT,
    401: _REAUTHENTICATE,
    413: FATAL,  # body over 1 MB: the caller splits batches below it
    414: FATAL,  # URI over 8 KB: the caller reads with POST ?_method=GET
}

# Response-level errors callers act on, raised as their own class: (code, substring of the
# lower-cased message or "", class). The class's policy row still comes from the table above.
NAMED_ERRORS: Final[tuple[tuple[str, str, type[MarketoError]], ...]] = (
    ("1003", "nextpagetoken", PagingTokenRefused),  # a paging token Marketo no longer accepts
)
BLANK_INPUT: Final = "701"  # "input cannot be blank": refused after the permission check, before any work


class Refusal(StrEnum):
    """Why Marketo skipped one record of a batch, by name."""

    INVALID_VALUE = "invalid value"
    NOT_FOUND = "not found"  # a person (update only) or object (update, delete) Marketo does not have
    ALREADY_EXISTS = "already exists"  # create only: the lookup value is taken
    SEVERAL_MATCH = "several match"  # several persons have the lookup value
    DUPLICATE_IN_INPUT = "duplicate in input"  # the lookup value came earlier in the same call
    FIELD_NOT_FOUND = "field not found"
    NOT_A_LOOKUP_FIELD = "not a lookup field"
    PARTITION = "partition"
    CRM_SYNC_ENABLED = "crm sync enabled"
    OTHER = "other"  # a code this table does not know, or no reason at all


# Record-level reasons (one record of a batch skipped): what each means and what kind of failure it is.
RECORD_REASONS: Final[dict[str, tuple[Refusal, FailureKind]]] = {
    "1003": (Refusal.INVALID_VALUE, FailureKind.BAD_RECORD),
    "1004": (Refusal.NOT_FOUND, FailureKind.BAD_RECORD),  # lead not found (updateOnly)
    "1005": (Refusal.ALREADY_EXISTS, FailureKind.BAD_RECORD),  # createOnly
    "1006": (Refusal.FIELD_NOT_FOUND, FailureKind.AUTH_CONFIG),  # the mapping names a field Marketo lacks
    "1007": (Refusal.SEVERAL_MATCH, FailureKind.BAD_RECORD),
    "1008": (Refusal.PARTITION, FailureKind.AUTH_CONFIG),  # partition access
    "1009": (Refusal.PARTITION, FailureKind.AUTH_CONFIG),  # partition not found
    "1010": (Refusal.PARTITION, FailureKind.AUTH_CONFIG),  # partition update not allowed
    "1011": (Refusal.NOT_A_LOOKUP_FIELD, FailureKind.AUTH_CONFIG),  # not usable as lookup field or filter
    "1013": (Refusal.NOT_FOUND, FailureKind.BAD_RECORD),  # object not found
    "1018": (Refusal.CRM_SYNC_ENABLED, FailureKind.AUTH_CONFIG),  # Marketo's own CRM sync is enabled
    "1036": (Refusal.DUPLICATE_IN_INPUT, FailureKind.BAD_RECORD),
}


def rule_for_code(code: str, message: str) -> Rule:
    lowered = message.lower()
    for rule_code, needle, rule in ERROR_CODE_POLICY:
        if rule_code == code and needle in lowered:
            return rule
    return FATAL


def rule_for_status(status: int) -> Rule:
    return HTTP_STATUS_POLICY.get(status, FATAL)


def named_error(code: str, message: str) -> type[MarketoError] | None:
    lowered = message.lower()
    return next((cls for c, needle, cls in NAMED_ERRORS if c == code and needle in lowered), None)


def record_reason(code: str | None) -> tuple[Refusal, FailureKind]:
    """A skipped record's reason: unknown codes are the record's own problem."""
    return RECORD_REASONS.get(code or "", (Refusal.OTHER, FailureKind.BAD_RECORD))
