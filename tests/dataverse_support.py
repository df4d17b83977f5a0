"""Helpers for Dataverse tests: a production connection configured against an emulator."""

from __future__ import annotations

from emulators.launch import RunningEmulator
from sync.connectors.dataverse.connection import DataverseConnection
from sync.settings import load_settings


def dataverse_connection(emulator: RunningEmulator, page_size: int = 5000, **settings: str) -> DataverseConnection:
    info = emulator.info
    env = {
        "DATAVERSE_URL": info["url"],
        "DATAVERSE_TENANT_ID": info["tenant_id"],
        "DATAVERSE_CLIENT_ID": info["client_id"],
        "DATAVERSE_CLIENT_SECRET": info["client_secret"],
        "DATAVERSE_AUTHORITY": info["authority"],
        "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com",
        "MARKETO_CLIENT_ID": "id",
        "MARKETO_CLIENT_SECRET": "secret",
        "SYNC_STORAGE_CONNECTION": "UseDevelopmentStorage=true",
        "SYNC_CA_FILE": info["ca_file"],
        **settings,
    }
    return DataverseConnection.from_settings(
        load_settings(env), page_size=page_size, backoff_initial_s=0.01, backoff_max_s=0.05
    )
