"""`python -m emulators`: one JSON ready line, then the service answers on that URL."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from emulators.launch import start_subprocess


def test_the_marketo_emulator_prints_its_ready_line_and_serves_https_with_its_options() -> None:
    process = start_subprocess("marketo", "--https", "--seed", "7", "--rate-calls", "2", "--rate-window", "60")
    try:
        info = process.info
        assert set(info) == {"service", "url", "client_id", "client_secret", "ca_file"}
        assert info["service"] == "marketo" and info["url"].startswith("https://127.0.0.1:")
        rows = requests.get(f"{info['url']}/_emulator/data/lead", verify=info["ca_file"], timeout=10).json()
        assert rows["count"] == 7
        token = requests.get(
            f"{info['url']}/identity/oauth/token",
            verify=info["ca_file"],
            timeout=10,
            params={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
        ).json()["access_token"]
        codes = [
            requests.get(
                f"{info['url']}/rest/v1/leads/partitions.json",
                verify=info["ca_file"],
                timeout=10,
                headers={"Authorization": f"Bearer {token}"},
            )
            .json()
            .get("errors")
            for _ in range(3)
        ]
        assert codes[:2] == [[], []]
        assert codes[2] is not None and codes[2][0]["code"] == "606"
    finally:
        process.stop()
    assert process.process.returncode == 0


def test_the_dataverse_emulator_prints_its_ready_line_and_serves_https_with_custom_tables(tmp_path: Path) -> None:
    tables = tmp_path / "tables.json"
    tables.write_text(
        json.dumps([{"logical_name": "new_project", "entity_set": "new_projects", "primary_name": "new_name"}])
    )
    process = start_subprocess("dataverse", "--https", "--seed", "3", "--tables", str(tables))
    try:
        info = process.info
        assert set(info) == {
            *("service", "url", "api", "authority", "tenant_id", "client_id", "client_secret"),
            *("username", "password", "ca_file"),
        }
        assert info["api"] == f"{info['url']}/api/data/v9.2/"
        rows = requests.get(f"{info['url']}/_emulator/data/contact", verify=info["ca_file"], timeout=10).json()
        assert rows["count"] == 3
        assert (
            requests.get(f"{info['url']}/_emulator/data/new_project", verify=info["ca_file"], timeout=10).json()[
                "count"
            ]
            == 0
        )
    finally:
        process.stop()
