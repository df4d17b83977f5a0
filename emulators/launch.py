"""Starting emulators: in-process (tests) or as `python -m emulators` subprocesses (demo, bench),
both over real sockets, and both reporting the same ready information."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulators.common.clock import EmulatorClock
from emulators.common.latency import Latency
from emulators.common.server import RunningServer, start_server
from emulators.common.service import EmulatorService
from emulators.common.tls import make_tls_files

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunningEmulator:
    service: EmulatorService
    server: RunningServer
    info: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()


def _marketo(clock: EmulatorClock, latency: Latency, options: dict[str, Any]) -> EmulatorService:
    from emulators.marketo.routes import MarketoService, load_custom_object_types

    types_file = options.pop("custom_objects", None) or Path(__file__).parent / "marketo" / "custom_objects.json"
    return MarketoService(clock, latency, custom_object_types=load_custom_object_types(Path(types_file)), **options)


def _dataverse(clock: EmulatorClock, latency: Latency, options: dict[str, Any]) -> EmulatorService:
    from emulators.dataverse.custom_tables import load_custom_tables
    from emulators.dataverse.routes import DataverseService

    tables_file = options.pop("tables", None)
    custom = load_custom_tables(Path(tables_file)) if tables_file else []
    return DataverseService(clock, latency, custom_tables=custom, **options)


FACTORIES: dict[str, Callable[[EmulatorClock, Latency, dict[str, Any]], EmulatorService]] = {
    "marketo": _marketo,
    "dataverse": _dataverse,
}


def start_in_process(
    service_name: str,
    *,
    https: bool = False,
    time_scale: float = 1.0,
    latency: Latency = Latency.NONE,
    seed_count: int = 0,
    host: str = "127.0.0.1",
    port: int = 0,
    state_dir: Path | None = None,
    **options: Any,
) -> RunningEmulator:
    clock = EmulatorClock(time_scale)
    service = FACTORIES[service_name](clock, latency, dict(options))
    if seed_count:
        service.seed_collections(dict.fromkeys(service.seed_names(), seed_count), 42)
    tls = (
        make_tls_files(state_dir or Path(tempfile.mkdtemp(prefix=f"{service_name}-tls-")), service_name)
        if https
        else None
    )
    server = start_server(service, host, port, tls)
    info = service.ready_info(server.url, str(tls.ca_file) if tls else None)
    return RunningEmulator(service, server, info)


@dataclass
class EmulatorProcess:
    process: subprocess.Popen[str]
    info: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_subprocess(service_name: str, *args: str, timeout_s: float = 30.0) -> EmulatorProcess:
    """`python -m emulators <service> ...`; returns once its ready line arrives."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators", service_name, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=timeout_s)
        raise RuntimeError(f"the {service_name} emulator exited with {process.returncode} before it was ready")
    return EmulatorProcess(process, json.loads(line))
