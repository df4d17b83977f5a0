"""Running `python -m sync` as an admin would: a subprocess configured only by the environment
given (nothing of the test process's own sync settings leaks in)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli_environment(env: dict[str, str]) -> dict[str, str]:
    """The test process's environment without its sync settings, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
    clean.pop("AzureWebJobsStorage", None)
    return {**clean, "PYTHONPATH": str(ROOT), **env}


def run_sync_cli(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        cwd=cwd,
        env=cli_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def offline_settings(storage_connection: str, table_prefix: str) -> dict[str, str]:
    """Settings for commands that only read the store (status, errors): the services are never called."""
    return {
        "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
        "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com",
        "MARKETO_CLIENT_ID": "id",
        "MARKETO_CLIENT_SECRET": "cli-secret",
        "SYNC_STORAGE_CONNECTION": storage_connection,
        "SYNC_TABLE_PREFIX": table_prefix,
    }
