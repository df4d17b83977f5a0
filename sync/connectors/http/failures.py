"""What a failed call means, as data: each row of a connector's policy table is a `Rule` that
says what the client does (`Action`) and what kind of failure it is (`FailureKind`).

The kind travels with the error to the engine, the errors table and the status page: a bad
record goes to the errors table while the rest of the batch flows; every other kind is
systemic, fails the run and leaves its checkpoint where it was (behaviour §10).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class FailureKind(StrEnum):
    TRANSIENT = "transient"  # timeouts, 5xx, dropped connections: retried, then an outage
    THROTTLED = "throttled"  # rate or concurrency limits: waited out
    QUOTA = "quota"  # the daily quota: stop cleanly until it resets
    AUTH_CONFIG = "auth/config"  # credentials, permissions or configuration: an admin must act
    BAD_RECORD = "bad_record"  # this record's data: to the errors table, the rest flows
    FATAL = "fatal"  # a request the service will never accept


class Action(StrEnum):
    RETRY = "retry"  # back off exponentially with jitter, then try again
    WAIT = "wait"  # wait as long as the service says (Retry-After, the rate window), then try again
    REAUTHENTICATE = "reauthenticate"  # a new token, then try again once
    STOP = "stop"  # the quota is spent: stop until it resets, never retry
    FAIL = "fail"  # retrying cannot help


RETRIED: Final = frozenset({Action.RETRY, Action.WAIT, Action.REAUTHENTICATE})


@dataclass(frozen=True)
class Rule:
    action: Action
    kind: FailureKind


class ConnectorError(Exception):
    """Base of every error a connector raises: the service's code and message, plus the rule's
    action and kind. Messages never carry secrets (URLs with credentials, tokens)."""

    service = "service"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        kind: FailureKind,
        action: Action = Action.FAIL,
        wait_s: float | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code, self.message, self.kind, self.action = code, message, kind, action
        self.wait_s, self.request_id = wait_s, request_id
        suffix = f" (request {request_id})" if request_id else ""
        super().__init__(f"{self.service} error {code}: {message}{suffix}")

    @property
    def retried(self) -> bool:
        return self.action in RETRIED


class OutcomeUnknown(ConnectorError):
    """A call that must not be repeated blindly (it creates what nothing can find again) failed
    after it may have been carried out: a dropped connection, a timeout, a gateway's 5xx. The
    caller finds out what happened before doing it again."""

    def __init__(self, service: str, operation: str, cause: str) -> None:
        self.service = service
        super().__init__(
            "outcome-unknown",
            f"{operation} may or may not have been carried out ({cause}); not repeated blindly",
            kind=FailureKind.TRANSIENT,
        )
