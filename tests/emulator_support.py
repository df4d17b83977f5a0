"""Calls to an emulator's /_emulator/ control API from tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

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


T = TypeVar("T")


def wait_for(check: Callable[[], T], done: Callable[[T], bool], *, what: str, timeout_s: float = 10.0) -> T:
    """Call `check` until `done` holds (an emulated bulk job finishing); fails naming `what`."""
    ends = time.monotonic() + timeout_s
    while True:
        value = check()
        if done(value):
            return value
        if time.monotonic() > ends:
            raise AssertionError(f"{what} still not done after {timeout_s} s (last seen: {value})")
        time.sleep(0.02)
