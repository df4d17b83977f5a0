"""One pooled HTTP session per connector, with TLS verification passed on every request.

requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `Session.verify` when `verify` is
not given per request, so a configured CA file would silently be ignored on machines that set
those variables; passing it on each call makes the configured trust the one used.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter


class HttpTransport:
    def __init__(self, ca_file: Path | None = None, timeout_s: float = 60.0, pool_size: int = 16) -> None:
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.verify: str | bool = str(ca_file) if ca_file else True
        self.timeout_s = timeout_s
        self.busy_s = 0.0  # time spent in requests, summed over threads (benchmarks' time breakdown)
        self._lock = threading.Lock()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        started = time.perf_counter()
        try:
            return self.session.request(method, url, verify=self.verify, **kwargs)
        finally:
            with self._lock:
                self.busy_s += time.perf_counter() - started

    def close(self) -> None:
        self.session.close()
