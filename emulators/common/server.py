"""Serves an emulator over real sockets (threaded, HTTP/1.1 keep-alive, optional TLS)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulators.common.tls import TlsFiles


class _QuietHandler(WSGIRequestHandler):
    """No access log: a benchmark makes hundreds of thousands of requests. The Date header is the
    service's clock (skewed or advanced by the control API), as a real server's is its own."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        clock = getattr(self.server.app, "clock", None)
        if timestamp is None and clock is not None:
            timestamp = clock.now()
        return super().date_time_string(timestamp)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


@dataclass
class RunningServer:
    server: BaseWSGIServer
    thread: threading.Thread
    url: str
    tls: TlsFiles | None

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_server(app: Any, host: str = "127.0.0.1", port: int = 0, tls: TlsFiles | None = None) -> RunningServer:
    ssl_context = (str(tls.cert_file), str(tls.key_file)) if tls else None
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context)
    thread = threading.Thread(
        target=lambda: server.serve_forever(poll_interval=0.05), name=f"emulator-{port}", daemon=True
    )
    thread.start()
    scheme = "https" if tls else "http"
    return RunningServer(server, thread, f"{scheme}://{host}:{server.server_port}", tls)
