"""Dataverse responses → what the client does. Policy as data."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Action(StrEnum):
    HONOUR_RETRY_AFTER = "honour_retry_after"  # service protection: wait as told, slow down
    BACK_OFF = "back_off"  # exponential backoff with jitter
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - an action's name, not a secret
    FAIL = "fail"


STATUS_POLICY: Final[dict[int, Action]] = {
    429: Action.HONOUR_RETRY_AFTER,
    502: Action.BACK_OFF,
    503: Action.BACK_OFF,
    504: Action.BACK_OFF,
    401: Action.REFRESH_TOKEN,
}

# Service-protection codes (all arrive as 429 with Retry-After).
SERVICE_PROTECTION_CODES: Final[dict[str, str]] = {
    "0x80072322": "number of requests per 5 minutes",
    "0x80072321": "combined execution time per 5 minutes",
    "0x80072326": "concurrent requests",
}

CHANGE_TOKEN_EXPIRED_TEXT: Final = "Version stamp associated with the client has expired"  # noqa: S105


def action_for(status: int) -> Action:
    return STATUS_POLICY.get(status, Action.FAIL)
