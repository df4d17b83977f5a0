"""The change routes served by `python -m sync run --listen PORT`, as the Functions host serves
them: the same handlers (`sync/functions/changes.py`) given the same `func.HttpRequest`, so a
webhook posted to the CLI is checked, counted and queued exactly as in Azure."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

import azure.functions as func

from sync.functions.changes import MAX_BODY_BYTES, ROUTES

PREFIX: Final = "/api/"


class _Handler(BaseHTTPRequestHandler):
    server_version = "sync-cli"

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        route = ROUTES.get(path.removeprefix(PREFIX)) if path.startswith(PREFIX) else None
        if route is None:
            self._send(404, b'{"error": "no such route"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY_BYTES + 1))  # enough for the route to say 413
        if length > len(body):
            self.close_connection = True  # the rest is never read
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        request = func.HttpRequest("POST", self.path, headers=dict(self.headers.items()), params=params, body=body)
        response = route(request)
        self._send(response.status_code, response.get_body())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # requests are counted on the status page, never logged with their headers


class ChangeListener:
    """`with ChangeListener(port) as listener:` the change routes on 127.0.0.1 (0: any free port)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="change-listener", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PREFIX}"

    def __enter__(self) -> ChangeListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
