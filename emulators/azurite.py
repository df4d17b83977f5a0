"""Starts Azurite's table service from node_modules, for tests and the demo.

Azurite cannot report a port it chose itself (`--tablePort 0` prints ":0"), so we pick a free
loopback port, start it, and wait until the port answers; a lost race for the port is retried.
Always 127.0.0.1: azure-data-tables treats `localhost` on a non-default port as Cosmos DB.
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


class AzuriteTable:
    """`with AzuriteTable() as azurite: azurite.connection_string` — in memory unless `location`."""

    def __init__(
        self,
        location: Path | None = None,
        start_timeout_s: float = 30.0,
        heap_mb: int | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.location = location
        self.start_timeout_s = start_timeout_s
        self.heap_mb = heap_mb  # Node's heap: an in-memory store of millions of entities needs more than its default
        self.log_file = log_file  # where its output goes (kept); default a temporary file
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    def _command(self, port: int) -> list[str]:
        binary = ROOT / "node_modules" / ".bin" / "azurite-table"
        if not binary.exists():
            found = shutil.which("azurite-table")
            if found is None:
                raise AzuriteError("azurite-table is not installed: run `npm ci` (make test/demo do it).")
            binary = Path(found)
        storage = ["--location", str(self.location)] if self.location else ["--inMemoryPersistence"]
        return [
            str(binary),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
            *storage,
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ]

    def start(self) -> Self:
        last_output = ""
        for _ in range(3):
            port = _free_port()
            env = {**os.environ, "NODE_OPTIONS": f"--max-old-space-size={self.heap_mb}"} if self.heap_mb else None
            # held open while Azurite runs; never a pipe nobody reads (it would stall Azurite once full)
            log = self.log_file.open("w+b") if self.log_file else tempfile.TemporaryFile()  # noqa: SIM115
            process = subprocess.Popen(self._command(port), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
            deadline = time.monotonic() + self.start_timeout_s
            while time.monotonic() < deadline and process.poll() is None:
                if _answers(port):
                    self._process, self.port, self._log = process, port, log
                    return self
                time.sleep(0.05)
            process.kill()
            process.wait(timeout=5)
            log.seek(0)
            last_output = log.read().decode(errors="replace")[-2000:]
            log.close()
        raise AzuriteError(f"Azurite table service did not start; its last output:\n{last_output}")

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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
