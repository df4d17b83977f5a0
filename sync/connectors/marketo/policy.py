"""Marketo's error codes and HTTP statuses → what the client does. Policy as data."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Action(StrEnum):
    REAUTHENTICATE = "reauthenticate"  # new token, retry once
    BACK_OFF = "back_off"  # exponential backoff with jitter, retry
    WAIT_WINDOW = "wait_window"  # wait out the rate window, retry
    STOP_UNTIL_RESET = "stop_until_reset"  # quota: stop cleanly, say so in status
    FATAL = "fatal"  # retrying cannot help


# (code, substring of the message or "") → action; first match wins, unknown codes are fatal.
ERROR_CODE_POLICY: Final[tuple[tuple[str, str, Action], ...]] = (
    ("601", "", Action.REAUTHENTICATE),
    ("602", "", Action.REAUTHENTICATE),
    ("604", "", Action.BACK_OFF),
    ("606", "", Action.WAIT_WINDOW),
    ("608", "", Action.BACK_OFF),
    ("611", "", Action.BACK_OFF),
    ("615", "", Action.BACK_OFF),
    ("713", "", Action.BACK_OFF),
    ("607", "", Action.STOP_UNTIL_RESET),
    ("1029", "quota", Action.STOP_UNTIL_RESET),
    ("1029", "", Action.BACK_OFF),  # too many jobs queued: try again later
    ("600", "", Action.FATAL),
    ("603", "", Action.FATAL),
    ("605", "", Action.FATAL),
    ("609", "", Action.FATAL),
    ("610", "", Action.FATAL),
    ("612", "", Action.FATAL),
)

HTTP_STATUS_POLICY: Final[dict[int, Action]] = {
    429: Action.BACK_OFF,
    500: Action.BACK_OFF,
    502: Action.BACK_OFF,
    503: Action.BACK_OFF,
    504: Action.BACK_OFF,
    413: Action.FATAL,
    414: Action.FATAL,
}


def action_for_code(code: str, message: str) -> Action:
    lowered = message.lower()
    for rule_code, needle, action in ERROR_CODE_POLICY:
        if rule_code == code and needle in lowered:
            return action
    return Action.FATAL


def action_for_status(status: int) -> Action:
    return HTTP_STATUS_POLICY.get(status, Action.FATAL)
