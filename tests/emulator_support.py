"""Calls to an emulator's /_emulator/ control API from tests."""

from __future__ import annotations

from typing import Any

import requests

from emulators.launch import RunningEmulator


def control(emulator: RunningEmulator, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(
        method, f"{emulator.url}/_emulator/{path}", json=body, verify=emulator.info["ca_file"], timeout=10
    )
    response.raise_for_status()
    return response.json()


def fault(emulator: RunningEmulator, **rule: Any) -> None:
    control(emulator, "POST", "faults", rule)


def route_count(emulator: RunningEmulator, route: str) -> int:
    return int(control(emulator, "GET", "stats")["by_route"].get(route, 0))
