"""What every sync benchmark stands on: Azurite and both emulators as their own processes (with
realistic latency and Marketo's real limits unless told otherwise), Dataverse seeded, and the
app settings pointing at them. The sync under test runs in a process of its own as well, so
its memory and CPU figures are the sync's alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from emulators.app_settings import app_settings
from emulators.azurite import AzuriteTable
from emulators.launch import EmulatorProcess, start_subprocess

ROOT = Path(__file__).resolve().parent.parent
MARKETO_WINDOW_S = 20.0


@dataclass
class Stack:
    env: dict[str, str]
    dataverse: EmulatorProcess
    marketo: EmulatorProcess
    time_scale: float

    def control(self, service: str, method: str, path: str, body: Any = None, timeout: float = 600) -> Any:
        info = (self.dataverse if service == "dataverse" else self.marketo).info
        answer = requests.request(
            method, f"{info['url']}/_emulator/{path}", json=body, verify=info["ca_file"], timeout=timeout
        )
        answer.raise_for_status()
        return answer.json()

    def run_sync(self, job: str, *args: str, timeout: float = 7200) -> dict[str, Any]:
        """Run `python -m bench.sync_process JOB ...` against the stack; its JSON result."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
        done = subprocess.run(
            [sys.executable, "-m", "bench.sync_process", job, *args],
            cwd=ROOT,
            env={**clean, **self.env},
            stdout=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


# Every stack this process ran, as its result file's provenance records them: the emulators'
# latency profile, the time scale, Marketo's window, the seed and the settings given (secrets named only).
STACKS: list[dict[str, Any]] = []
_SECRET_WORDS = ("SECRET", "KEY", "PASSWORD", "TOKEN")


def _described(seed: dict[str, int], time_scale: float, latency: str, settings: dict[str, str]) -> dict[str, Any]:
    return {
        "latency": latency,
        "time_scale": time_scale,
        "marketo_window_s": MARKETO_WINDOW_S / time_scale,
        "seed": dict(seed),
        "settings": {k: "(secret)" if any(w in k for w in _SECRET_WORDS) else v for k, v in settings.items()},
    }


@contextmanager
def stack(
    seed: dict[str, int], *, time_scale: float = 1.0, latency: str = "realistic", **settings: str
) -> Iterator[Stack]:
    STACKS.append(_described(seed, time_scale, latency, settings))
    state = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    common = ("--https", "--latency", latency, "--time-scale", str(time_scale))
    dataverse = start_subprocess("dataverse", *common, "--state-dir", str(state / "dv"))
    marketo = start_subprocess("marketo", *common, "--state-dir", str(state / "mk"))
    try:
        # millions of links held in memory; its output kept beside the emulators' state
        with AzuriteTable(heap_mb=16_384, log_file=state / "azurite.log") as azurite:
            env = app_settings(
                dataverse.info,
                marketo.info,
                storage=azurite.connection_string,
                SYNC_TABLE_PREFIX="bench",
                MARKETO_RATE_LIMIT_WINDOW_S=str(MARKETO_WINDOW_S / time_scale),
                **settings,
            )
            running = Stack(env, dataverse, marketo, time_scale)
            if any(seed.values()):
                running.control("dataverse", "POST", "seed", {"counts": seed, "seed": 7})
            yield running
    finally:
        dataverse.stop()
        marketo.stop()
