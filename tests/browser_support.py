"""Headless Chromium for the status page test: Debian's `chromium`, installed when missing (the
test machine is root and reaches the Debian mirrors), driven from its command line: the DOM
after rendering (`--dump-dom`) and a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    """The browser's path; installs Debian's package when it is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        raise RuntimeError("the status page test needs Chromium: install Debian's `chromium` package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-qq"], check=True, env=env, capture_output=True, timeout=600)
    subprocess.run([apt, "install", "-y", "-qq", "chromium"], check=True, env=env, capture_output=True, timeout=1200)
    found = shutil.which("chromium")
    if not found:
        raise RuntimeError("apt-get installed chromium but it is not on PATH")
    return found


def _run(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def dump_dom(browser: str, url: str) -> str:
    return _run(browser, "--dump-dom", url).stdout


def screenshot(browser: str, url: str, path: Path, width: int = 1280, height: int = 1400) -> Path:
    _run(browser, f"--screenshot={path}", f"--window-size={width},{height}", url)
    return path


@contextmanager
def serving(page: bytes, content_type: str) -> Iterator[str]:
    """Serve one page over HTTP on a free local port, as the Functions host would answer it."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/sync/dashboard"
    finally:
        server.shutdown()
        server.server_close()
