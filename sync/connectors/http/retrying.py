"""The one retry loop (tenacity, configured once) that every Dataverse and Marketo call runs in.

The connector supplies one attempt and its policy table's verdict on failure (a ConnectorError
carrying an `Action`); this loop does the rest the same way for both services:
- RETRY: exponential backoff with jitter; WAIT: as long as the service said (Retry-After in
  seconds or as an HTTP date, Marketo's rate window), clamped to `max_wait_s`;
- REAUTHENTICATE: renew the token and try again at once, once; a fresh token refused too is
  the connector's `refused` error (an admin must fix the app user or its role);
- a dropped connection or socket timeout is a transient failure of the service, reported
  without the URL (requests puts query strings, and so Marketo's client secret, in messages);
- never sleep past the deadline: when the next wait would end after it, stop with
  DeadlineExceeded naming the last failure, the attempts and the time spent;
- a call that is not idempotent (it creates what no key finds again) is retried only when the
  service refused it before doing anything (throttled, a token to renew); any other failure
  may have come after the work was done, and is raised as OutcomeUnknown for the caller to settle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from sync.connectors.http.deadline import Deadline, DeadlineExceeded
from sync.connectors.http.failures import Action, ConnectorError, FailureKind, OutcomeUnknown

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    max_wait_s: float = 300.0  # the longest Retry-After (or window) this client honours
    request_timeout_s: float = 60.0  # one request's socket timeout, shortened near the deadline


class _StopAtDeadline(stop_base):
    """Stop rather than sleep past the deadline (tenacity computes the wait before asking)."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.deadline.expired or (retry_state.upcoming_sleep or 0.0) > self.deadline.remaining()


class Reauthentication(Protocol):
    def renew(self, error: ConnectorError) -> None:
        """Drop the refused token so the next attempt signs in afresh."""

    def refused(self, error: ConnectorError) -> ConnectorError:
        """What to raise when a freshly issued token is refused too."""


class Retryer:
    """Holds one service's policy; `call` runs one logical call under it."""

    def __init__(
        self,
        service: str,
        policy: RetryPolicy,
        transport_failure: Callable[[str], ConnectorError],
        reauthentication: Reauthentication | None = None,
    ) -> None:
        self.service, self.policy = service, policy
        self._transport_failure, self._reauthentication = transport_failure, reauthentication
        self._backoff = wait_exponential_jitter(
            multiplier=policy.backoff_initial_s, max=policy.backoff_max_s, jitter=policy.backoff_initial_s
        )
        self._log = logging.getLogger(f"sync.connectors.{service.lower()}")

    def call(
        self, operation: str, attempt: Callable[[Deadline], T], deadline: Deadline, *, idempotent: bool = True
    ) -> T:
        started = time.monotonic()
        reauthenticated = False

        def once() -> T:
            nonlocal reauthenticated
            if deadline.expired:
                raise DeadlineExceeded(self.service, operation, 0, time.monotonic() - started, None)
            try:
                return attempt(deadline)
            except requests.RequestException as exc:
                cause = f"could not reach {self.service} ({type(exc).__name__}) during {operation}"
                if not idempotent:
                    raise OutcomeUnknown(self.service, operation, cause) from None
                raise self._transport_failure(cause) from None
            except ConnectorError as error:
                if error.action is Action.REAUTHENTICATE:
                    if reauthenticated or self._reauthentication is None:
                        raise (self._reauthentication.refused(error) if self._reauthentication else error) from None
                    reauthenticated = True
                    self._reauthentication.renew(error)
                elif not idempotent and error.retried and error.kind is FailureKind.TRANSIENT:
                    raise OutcomeUnknown(self.service, operation, str(error)) from None
                raise

        def give_up(state: RetryCallState) -> T:
            last = state.outcome.exception() if state.outcome is not None else None
            if state.attempt_number >= self.policy.max_attempts and last is not None:
                raise last
            raise DeadlineExceeded(self.service, operation, state.attempt_number, time.monotonic() - started, last)

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, ConnectorError) and e.retried),
            stop=stop_after_attempt(self.policy.max_attempts) | _StopAtDeadline(deadline),
            wait=self._wait,
            before_sleep=lambda state: self._log_retry(operation, state),
            retry_error_callback=give_up,
        )
        return retrying(once)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, ConnectorError):
            if error.action is Action.REAUTHENTICATE:
                return 0.0
            if error.action is Action.WAIT and error.wait_s is not None:
                return min(error.wait_s, self.policy.max_wait_s)
        return float(self._backoff(state))

    def _log_retry(self, operation: str, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        self._log.warning(
            "%s call retried (attempt %d, next in %.1f s): %s",
            self.service,
            state.attempt_number,
            state.upcoming_sleep or 0.0,
            error if isinstance(error, ConnectorError) else type(error).__name__,
            extra={
                "operation": operation,
                "attempt": state.attempt_number,
                "wait_s": round(state.upcoming_sleep or 0.0, 3),
                "failure_kind": error.kind.value if isinstance(error, ConnectorError) else FailureKind.TRANSIENT.value,
                "error": str(error),
            },
        )
