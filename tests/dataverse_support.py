"""Helpers for Dataverse tests: a production connection configured against an emulator."""

from __future__ import annotations

import json
from pathlib import Path

from emulators.app_settings import app_settings
from emulators.launch import RunningEmulator
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.http.retrying import RetryPolicy
from sync.settings import DataverseSettings, load_section

FAST_RETRIES = RetryPolicy(backoff_initial_s=0.01, backoff_max_s=0.05)


def dataverse_connection(
    emulator: RunningEmulator, page_size: int = 5000, retry: RetryPolicy = FAST_RETRIES, **settings: str
) -> DataverseConnection:
    section = load_section(DataverseSettings, app_settings(emulator.info, **settings))
    return DataverseConnection.from_settings(section, page_size=page_size, retry=retry)


def write_project_table(path: Path, *, change_tracking: bool = True) -> Path:
    """A custom table `new_project` (budget, a contact lookup) for the emulator's --tables."""
    spec = {
        "logical_name": "new_project",
        "entity_set": "new_projects",
        "primary_name": "new_name",
        "change_tracking": change_tracking,
        "columns": [
            {"name": "new_budget", "type": "Money"},
            {"name": "new_contactid", "type": "Lookup", "targets": ["contact"]},
        ],
    }
    path.write_text(json.dumps([spec]))
    return path
