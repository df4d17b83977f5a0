"""The sync's Marketo calls by what they are for, counted on the connection's transport (every
attempt, as Marketo counts them): what the bulk path's projection needs, since its status checks
and usage reads grow with the time Marketo takes to import, while the rest grows with the rows."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Final
from urllib.parse import urlsplit

from sync.connectors.transport import HttpTransport

# (path pattern, kind); the first match wins, anything else is "rest"
ROUTE_KINDS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"^/identity/"), "token"),  # not a REST call: Marketo does not count it
    (re.compile(r"^/rest/v1/stats/usage\.json$"), "usage"),
    (re.compile(r"^/bulk/v1/leads\.json$"), "import"),
    (re.compile(r"^/bulk/v1/leads/batch/\d+\.json$"), "import_status"),
    (re.compile(r"^/bulk/v1/leads/batch/\d+/(failures|warnings)\.json$"), "import_file"),
    (re.compile(r"^/bulk/v1/\w+/export/(create|[^/]+/enqueue)\.json$"), "extract_start"),
    (re.compile(r"^/bulk/v1/\w+/export/[^/]+/status\.json$"), "extract_status"),
    (re.compile(r"^/bulk/v1/\w+/export/[^/]+/file\.json$"), "extract_file"),
)


def route_kind(path: str) -> str:
    return next((kind for pattern, kind in ROUTE_KINDS if pattern.search(path)), "rest")


def count_routes(transport: HttpTransport) -> Counter[str]:
    """From now on, every request `transport` sends is counted by kind in the returned Counter."""
    counts: Counter[str] = Counter()
    send = transport.request

    def request(method: str, url: str, **kwargs: Any) -> Any:
        counts[route_kind(urlsplit(url).path)] += 1
        return send(method, url, **kwargs)

    transport.request = request  # type: ignore[method-assign]
    return counts
