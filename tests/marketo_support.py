"""Helpers for Marketo tests: a production connection configured against an emulator."""

from __future__ import annotations

from typing import Any

from emulators.launch import RunningEmulator
from sync.connectors.marketo.connection import MarketoConnection
from sync.settings import load_settings


def marketo_connection(emulator: RunningEmulator, **settings: str | Any) -> MarketoConnection:
    client_options = {
        k: settings.pop(k)
        for k in list(settings)
        if k in ("max_attempts", "backoff_initial_s", "backoff_max_s", "usage_refresh_s")
    }
    env = {
        "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
        "MARKETO_BASE_URL": emulator.url,
        "MARKETO_CLIENT_ID": emulator.info["client_id"],
        "MARKETO_CLIENT_SECRET": emulator.info["client_secret"],
        "SYNC_STORAGE_CONNECTION": "UseDevelopmentStorage=true",
        "SYNC_CA_FILE": emulator.info["ca_file"],
        "MARKETO_RATE_LIMIT_WINDOW_S": "0.2",
        **{k: str(v) for k, v in settings.items()},
    }
    options = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "usage_refresh_s": 3600.0, **client_options}
    return MarketoConnection.from_settings(load_settings(env), **options)
