"""Helpers for Marketo tests: a production connection configured against an emulator."""

from __future__ import annotations

from emulators.app_settings import app_settings
from emulators.launch import RunningEmulator
from sync.connectors.http.retrying import RetryPolicy
from sync.connectors.marketo.connection import MarketoConnection
from sync.settings import MarketoSettings, load_section

FAST_RETRIES = RetryPolicy(backoff_initial_s=0.01, backoff_max_s=0.05)


def marketo_connection(
    emulator: RunningEmulator,
    retry: RetryPolicy = FAST_RETRIES,
    usage_refresh_s: float = 3600.0,
    **settings: str,
) -> MarketoConnection:
    """A connection at Marketo's limits but with a 0.2 s rate window, unless told otherwise."""
    env = app_settings(emulator.info, **{"MARKETO_RATE_LIMIT_WINDOW_S": "0.2", **settings})
    section = load_section(MarketoSettings, env)
    return MarketoConnection.from_settings(section, retry=retry, usage_refresh_s=usage_refresh_s)
