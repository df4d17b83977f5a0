"""What a user writes by hand instead of the sync: read the persons, push them to Marketo with
`marketorestpython` in batches of 300, one call after another, waiting 20 s when Marketo says
606. Run as `python -m bench.peer_script ROWS_JSON` with MARKETO_* in the environment (and
REQUESTS_CA_BUNDLE, which is how that library is told to trust a CA); prints one JSON line."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from marketorestpython.client import MarketoClient

from bench.memory import peak_rss_mb

FIELDS = {"emailaddress1": "email", "firstname": "firstName", "lastname": "lastName", "jobtitle": "title"}


def push(rows: list[dict[str, Any]]) -> dict[str, Any]:
    client = MarketoClient("000-AAA-000", os.environ["MARKETO_CLIENT_ID"], os.environ["MARKETO_CLIENT_SECRET"])
    client.host = os.environ["MARKETO_BASE_URL"]
    leads = [{target: row.get(source) for source, target in FIELDS.items()} for row in rows]
    started, calls, throttled = time.perf_counter(), 0, 0
    for start in range(0, len(leads), 300):
        while True:
            calls += 1
            try:
                client.execute(
                    method="create_update_leads",
                    leads=leads[start : start + 300],
                    action="createOrUpdate",
                    lookupField="email",
                )
                break
            except Exception as error:  # marketorestpython raises a plain Exception carrying the code
                if "606" not in str(error):
                    raise
                throttled += 1
                time.sleep(20)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "records": len(leads),
        "wall_s": round(time.perf_counter() - started, 3),
        "marketo_calls": calls,
        "throttled": throttled,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "cpu_s": round(own.ru_utime + own.ru_stime, 3),
    }


if __name__ == "__main__":
    print(json.dumps(push(json.loads(Path(sys.argv[1]).read_text()))))
