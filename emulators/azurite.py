"""Starts Azurite's table service (and its queue service: the change queue) from node_modules,
for tests and the demo.

Azurite cannot report a port it chose itself (`--tablePort 0` prints ":0"), so we pick a free
loopback port, start it, and wait until the port answers; a lost race for the port is retried.
Always 127.0.0.1: azure-data-tables treats `localhost` on a non-default port as Cosmos DB.
Each service is its own process (`azurite-table`, `azurite-queue`): the blob service is not needed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

ACCOUNT: Final = "devstoreaccount1"
# Azurite's well-known development key: public, documented, not a secret.
ACCOUNT_KEY: Final = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
ROOT: Final = Path(__file__).resolve().parent.parent


class AzuriteError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class _Service:
    """One Azurite service process on a free loopback port."""

    def __init__(self, name: str, location: Path | None, heap_mb: int | None, log_file: Path | None) -> None:
        self.name, self.location, self.heap_mb, self.log_file = name, location, heap_mb, log_file
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _command(self, port: int) -> list[str]:
        binary = ROOT / "node_modules" / ".bin" / f"azurite-{self.name}"
        if not binary.exists():
            found = shutil.which(f"azurite-{self.name}")
            if found is None:
                raise AzuriteError(f"azurite-{self.name} is not installed: run `npm ci` (make test/demo do it).")
            binary = Path(found)
        storage = ["--location", str(self.location)] if self.location else ["--inMemoryPersistence"]
        return [
            str(binary),
            f"--{self.name}Host",
            "127.0.0.1",
            f"--{self.name}Port",
            str(port),
            *storage,
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ]

    def start(self, timeout_s: float) -> None:
        last_output = ""
        for _ in range(3):
            port = _free_port()
            env = {**os.environ, "NODE_OPTIONS": f"--max-old-space-size={self.heap_mb}"} if self.heap_mb else None
            # held open while Azurite runs; never a pipe nobody reads (it would stall Azurite once full)
            log = self.log_file.open("w+b") if self.log_file else tempfile.TemporaryFile()  # noqa: SIM115
            process = subprocess.Popen(self._command(port), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and process.poll() is None:
                if _answers(port):
                    self._process, self.port, self._log = process, port, log
                    return
                time.sleep(0.05)
            process.kill()
            process.wait(timeout=5)
            log.seek(0)
            last_output = log.read().decode(errors="replace")[-2000:]
            log.close()
        raise AzuriteError(f"Azurite {self.name} service did not start; its last output:\n{last_output}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


class AzuriteTable:
    """`with AzuriteTable() as azurite: azurite.connection_string` — in memory unless `location`.
    The connection string names both endpoints: Table Storage and the change queue."""

    def __init__(
        self,
        location: Path | None = None,
        start_timeout_s: float = 30.0,
        heap_mb: int | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.start_timeout_s = start_timeout_s
        queue_log = log_file.with_name(f"{log_file.stem}-queue{log_file.suffix}") if log_file else None
        self._table = _Service("table", location, heap_mb, log_file)
        self._queue = _Service("queue", location / "queue" if location else None, None, queue_log)

    @property
    def port(self) -> int:
        return self._table.port

    @property
    def queue_port(self) -> int:
        return self._queue.port

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT};"
        )

    def start(self) -> Self:
        try:
            self._table.start(self.start_timeout_s)
            self._queue.start(self.start_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._table.stop()
        self._queue.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
