"""Airbyte's Dataverse source as a user would run it: `read` with a config and a configured
catalog (full refresh of the tables asked for), in its own virtualenv under ~/.cache (made on
first use from PyPI). Counts the RECORD messages and times the whole read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

PACKAGE: Final = "airbyte-source-microsoft-dataverse==1.0.2"
VENV: Final = Path.home() / ".cache" / "sync-bench" / "airbyte-dataverse"
RUNNER: Final = Path(__file__).with_name("airbyte_peer.py")


def _python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", PACKAGE], check=True)
    return python


def _catalog(tables: list[str]) -> dict[str, Any]:
    return {
        "streams": [
            {
                "stream": {"name": t, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh",
                "destination_sync_mode": "overwrite",
                "primary_key": [[f"{t}id"]],
            }
            for t in tables
        ]
    }


def airbyte_read(env: dict[str, str], tables: list[str]) -> dict[str, Any]:
    python = _python()
    config = {
        "url": env["DATAVERSE_URL"],
        "tenant_id": env["DATAVERSE_TENANT_ID"],
        "client_id": env["DATAVERSE_CLIENT_ID"],
        "client_secret_value": env["DATAVERSE_CLIENT_SECRET"],
        "odata_maxpagesize": 5000,
    }
    token_url = f"{env['DATAVERSE_AUTHORITY'].rstrip('/')}/{env['DATAVERSE_TENANT_ID']}/oauth2/v2.0/token"
    with tempfile.TemporaryDirectory() as folder:
        config_file, catalog_file = Path(folder, "config.json"), Path(folder, "catalog.json")
        config_file.write_text(json.dumps(config))
        catalog_file.write_text(json.dumps(_catalog(tables)))
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), str(RUNNER), token_url, "read", "--config", str(config_file), "--catalog", str(catalog_file)],
            env={**os.environ, "REQUESTS_CA_BUNDLE": env["SYNC_CA_FILE"]},
            stdout=subprocess.PIPE,
            text=True,
            check=False,
            timeout=3600,
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-15:])
        raise RuntimeError(f"the Airbyte source exited with {done.returncode}:\n{tail}")
    records = sum(
        1 for line in done.stdout.splitlines() if line.startswith('{"type": "RECORD"') or '"RECORD"' in line[:30]
    )
    return {"records": records, "wall_s": round(wall, 3)}  # the whole process, start-up included
