"""Marketo emulator: a 300-person push with --latency none (goal: well under 50 ms), and a
million persons held in memory while pushes and queries stay fast.

Run: `make bench` (or `python -m bench`). Writes bench/results/marketo_emulator.json."""

from __future__ import annotations

import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import requests

from bench.results_file import provenance
from emulators.launch import start_in_process

RESULTS = Path(__file__).parent / "results" / "marketo_emulator.json"


def _timed_pushes(url: str, token: str, rounds: int, offset: int) -> list[float]:
    session = requests.Session()
    session.trust_env = False
    timings = []
    for n in range(rounds):
        batch = [
            {
                "email": f"bench{offset + n * 300 + i}@example.com",
                "firstName": "B",
                "lastName": "M",
                "city": "Austin",
                "unsubscribed": False,
            }
            for i in range(300)
        ]
        started = time.perf_counter()
        body = session.post(
            f"{url}/rest/v1/leads.json",
            json={"input": batch},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        timings.append((time.perf_counter() - started) * 1000)
        assert body["success"] and len(body["result"]) == 300, body
    return timings


def main() -> dict[str, Any]:
    emulator = start_in_process("marketo", calls=10**9, concurrency=100, daily_quota=10**9)
    info = emulator.info
    token = requests.get(
        f"{info['url']}/identity/oauth/token",
        timeout=10,
        params={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        },
    ).json()["access_token"]
    _timed_pushes(info["url"], token, 3, 0)  # warm up
    empty = _timed_pushes(info["url"], token, 30, 10_000)

    started = time.perf_counter()
    service = emulator.service
    service.seed_collections({"lead": 1_000_000}, 42)
    seed_s = time.perf_counter() - started
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    full = _timed_pushes(info["url"], token, 30, 2_000_000)
    session = requests.Session()
    session.trust_env = False
    started = time.perf_counter()
    found = session.get(
        f"{info['url']}/rest/v1/leads.json",
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
        params={"filterType": "email", "filterValues": "bench2000005@example.com"},
    ).json()
    query_ms = (time.perf_counter() - started) * 1000
    assert len(found["result"]) == 1
    emulator.stop()
    result = {
        "push_300_ms_median_empty": round(statistics.median(empty), 1),
        "push_300_ms_p95_empty": round(sorted(empty)[int(len(empty) * 0.95) - 1], 1),
        "persons_held": len(service.persons.leads),  # type: ignore[attr-defined]  # MarketoService
        "seed_1m_seconds": round(seed_s, 1),
        "max_rss_gib": round(rss_gib, 2),
        "push_300_ms_median_at_1m": round(statistics.median(full), 1),
        "query_by_email_ms_at_1m": round(query_ms, 1),
    }
    RESULTS.write_text(json.dumps({**result, "provenance": provenance()}, indent=2) + "\n")
    print(json.dumps({"marketo_emulator": result}, indent=2))
    return result


if __name__ == "__main__":
    main()
