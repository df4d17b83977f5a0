"""Marketo's answers → what the client does and what kind of failure it is. Policy as data.

Response-level errors arrive as HTTP 200 with `success: false` and a code; HTTP-level ones as
a status; record-level ones as `reasons` on one record of a batch. Unknown codes are fatal.
"""

from __future__ import annotations

from typing import Final

from sync.connectors.http.failures import Action, FailureKind, Rule

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
    ("606", "", Rule(Action.WAIT, FailureKind.THROTTLED)),  # 100 calls / 20 s: wait out the window
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

# Record-level reasons (one record of a batch skipped): what kind of failure each one is.
RECORD_REASON_KIND: Final[dict[str, FailureKind]] = {
    "1003": FailureKind.BAD_RECORD,  # invalid value
    "1004": FailureKind.BAD_RECORD,  # not found (updateOnly)
    "1005": FailureKind.BAD_RECORD,  # already exists (createOnly)
    "1006": FailureKind.AUTH_CONFIG,  # field not found: the mapping names a field Marketo lacks
    "1007": FailureKind.BAD_RECORD,  # several persons match the lookup
    "1008": FailureKind.AUTH_CONFIG,  # partition access
    "1009": FailureKind.AUTH_CONFIG,  # partition not found
    "1010": FailureKind.AUTH_CONFIG,  # partition update not allowed
    "1011": FailureKind.AUTH_CONFIG,  # field not usable as lookup field or filter
    "1013": FailureKind.BAD_RECORD,  # object not found
    "1018": FailureKind.AUTH_CONFIG,  # Marketo's own CRM sync is enabled
    "1036": FailureKind.BAD_RECORD,  # the same record twice in one input
}


def rule_for_code(code: str, message: str) -> Rule:
    lowered = message.lower()
    for rule_code, needle, rule in ERROR_CODE_POLICY:
        if rule_code == code and needle in lowered:
            return rule
    return FATAL


def rule_for_status(status: int) -> Rule:
    return HTTP_STATUS_POLICY.get(status, FATAL)


def reason_kind(code: str) -> FailureKind:
    return RECORD_REASON_KIND.get(code, FailureKind.BAD_RECORD)
