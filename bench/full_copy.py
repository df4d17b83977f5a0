"""`python -m bench full-copy`: the first copy of an org, timed against Marketo's ceiling.

Azurite and both emulators run with realistic latency and Marketo's real limits (100 calls per
20 s, 10 at a time; `--time-scale X` divides the window and the latencies by X on both sides);
Dataverse is seeded; the sync copies every object in its own process through the steps the
Durable orchestration runs. The ideal is the rate-limit bound: the fewest Marketo calls that can
carry the records (300 a call) at the allowed call rate.

`--path bulk` copies contacts and leads through Marketo's bulk import instead (the other objects
through REST as always) and reports what that path is judged on: REST calls per million persons,
peak memory, and the wall time projected for 10 million persons from the measured read and store
rates and an assumed Marketo import rate (`--assumed-import-rows-per-s`, per job; two at once)."""

from __future__ import annotations

import argparse
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.results_file import write_result
from bench.stack import MARKETO_WINDOW_S, stack
from sync.connectors.marketo.bulk import EXTRACT_PART_BYTES
from sync.connectors.marketo.client import BUSY_CALLS, IDLE_USAGE_REFRESH_S
from sync.settings import SyncSettings

MARKETO_CALLS_PER_WINDOW = 100
RECORDS_PER_CALL = 300
USAGE_REFRESH_S = 300.0  # MarketoClient's usage_refresh_s while busy
LINK_BYTES_PER_PERSON = 55  # an extract row: id, the Dynamics GUID and type (docs/bulk-copy.md)
SENSITIVITY_ROWS_PER_S = (100.0, 200.0, 1000.0)  # Marketo's import rate per job: no published figure


def ideal(result: dict[str, Any], time_scale: float) -> tuple[int, float]:
    """(fewest Marketo calls, their time at the allowed rate) for what the copy wrote."""
    calls = sum(math.ceil(o["written"] / RECORDS_PER_CALL) for o in result["objects"].values())
    rate = MARKETO_CALLS_PER_WINDOW / (MARKETO_WINDOW_S / time_scale)
    return calls, calls / rate


def _with_startup(result: dict[str, Any], calls: int) -> dict[str, Any]:
    """The calls of the process's start (usage, the objects' describes, fields created) added: what
    the goal `calls ≤ 1.01 × the minimum, start-up included` counts."""
    if "startup_marketo_calls" not in result:
        return {}
    total = result["marketo_calls"] + result["startup_marketo_calls"]
    return {
        "startup_marketo_calls": result["startup_marketo_calls"],
        "marketo_calls_with_startup": total,
        "marketo_calls_with_startup_over_ideal": round(total / calls, 3) if calls else None,
    }


def bulk_calls_projected(
    by_route: Mapping[str, int], persons: int, rows_per_s: float, poll_s: float, to_persons: int = 10_000_000
) -> dict[str, Any]:
    """The persons' Marketo calls for `to_persons` if Marketo imports `rows_per_s` a job (two jobs
    at once) and the copy checks every `poll_s`. Import files and their failure files grow with
    the rows: scaled from the run. What grows with Marketo's time is computed from it: a status
    check of the oldest job a poll while the copy waits, one more as each job ends, and a usage
    read an hour (at such polls the copy makes fewer than `BUSY_CALLS` calls between reads, so
    the client reads usage hourly, as when idle). The link extracts do not grow with the rows:
    one job a person object (its 31-day window holds a copy of hours), two calls to start it, its
    status checks as in the run (the emulator extracts in seconds; Marketo's time for a large
    extract is published by no one either), and its file read `EXTRACT_PART_BYTES` a call at
    ~`LINK_BYTES_PER_PERSON` a person."""
    scale = to_persons / persons
    importing_s = to_persons / (2 * rows_per_s)
    jobs = by_route.get("import", 0) * scale
    busy_reads = USAGE_REFRESH_S / poll_s  # status checks between two usage reads while busy
    extracts = by_route.get("extract_start", 0) // 2  # create and enqueue, each
    parts = extracts * math.ceil(to_persons / max(extracts, 1) * LINK_BYTES_PER_PERSON / EXTRACT_PART_BYTES)
    calls = {
        "imports": round(jobs),
        "import_status_checks": round(importing_s / poll_s + jobs),
        "import_failure_files": round(by_route.get("import_file", 0) * scale),
        "extracts": 2 * extracts + parts,
        "extract_status_checks": by_route.get("extract_status", 0),
        "usage_reads": round(importing_s / (IDLE_USAGE_REFRESH_S if busy_reads < BUSY_CALLS else USAGE_REFRESH_S)),
        "other_rest": round(by_route.get("rest", 0) * scale),
    }
    total = sum(calls.values())
    return {
        "rows_per_s_per_job": rows_per_s,
        "poll_s": poll_s,
        "importing_h": round(importing_s / 3600, 2),
        "calls": {**calls, "total": total},
        "share_of_50k_day": round(total / 50_000, 4),
    }


def bulk_figures(result: dict[str, Any], persons: int, import_rows_per_s: float) -> dict[str, Any]:
    """What the bulk path is judged on, from a run's per-object figures."""
    person_objects = [result["objects"][name] for name in ("contact", "lead") if name in result["objects"]]
    calls = sum(o["marketo_calls"] for o in person_objects)
    seconds = sum(o["wall_s"] for o in person_objects)
    per_million = calls / persons * 1_000_000 if persons else 0.0
    ten_million = 10_000_000
    # Marketo imports two of our files at once; our side (read, files, links) ran at the measured rate
    marketo_s = ten_million / (2 * import_rows_per_s)
    our_s = seconds / persons * ten_million if persons else 0.0
    by_route: Counter[str] = Counter()
    for o in person_objects:
        by_route.update(o.get("marketo_calls_by_route", {}))
    poll_s = float(SyncSettings.model_fields["bulk_poll_s"].default)
    projected = (
        {
            "persons_marketo_calls_by_route": dict(by_route),
            # at the assumed rate and the deployed poll interval (SYNC_BULK_POLL_S), polls and usage reads included
            "projected_10m_at_assumed_rate": bulk_calls_projected(by_route, persons, import_rows_per_s, poll_s),
            "projected_10m_calls_by_import_rate": {
                str(rate): bulk_calls_projected(by_route, persons, rate, poll_s)["calls"]["total"]
                for rate in SENSITIVITY_ROWS_PER_S
            },
        }
        if by_route and persons
        else {}
    )
    return {
        **projected,
        "persons_marketo_calls": calls,
        "marketo_calls_per_million_persons": round(per_million, 1),
        "projected_calls_10m": round(per_million * 10),
        "projected_share_of_50k_day_10m": round(per_million * 10 / 50_000, 4),
        "persons_wall_s": round(seconds, 1),
        "measured_persons_per_s": round(persons / seconds, 1) if seconds else None,
        "assumed_import_rows_per_s_per_job": import_rows_per_s,
        # at best our side overlaps Marketo's importing; at worst it adds to it
        "projected_wall_h_10m_at_best": round(max(marketo_s, our_s) / 3600, 2),
        "projected_wall_h_10m_at_worst": round((marketo_s + our_s) / 3600, 2),
        "projected_wall_h_10m_our_side": round(our_s / 3600, 2),
        "projected_wall_h_10m_marketo_side": round(marketo_s / 3600, 2),
    }


def run(
    persons: int,
    accounts: int,
    opportunities: int,
    users: int,
    teams: int,
    time_scale: float,
    path: str = "rest",
    import_rows_per_s: float = 200.0,
    latency: str = "realistic",
) -> dict[str, Any]:
    leads = persons // 2
    seed = {
        "systemuser": users,
        "team": teams,
        "account": accounts,
        "contact": persons - leads,
        "lead": leads,
        "opportunity": opportunities,
    }
    with stack(seed, time_scale=time_scale, latency=latency, SYNC_BULK_POLL_S="1") as running:
        result = running.run_sync("full-copy", f"path={path}")
    calls, ideal_s = ideal(result, time_scale)
    records = sum(o["records"] for o in result["objects"].values())
    extra = bulk_figures(result, persons, import_rows_per_s) if path == "bulk" else {}
    return {
        "job": "full-copy",
        "path": path,
        "latency": latency,
        **extra,
        "seed": seed,
        "time_scale": time_scale,
        "records": records,
        "wall_s": result["wall_s"],
        "ideal_s": round(ideal_s, 3),
        "wall_over_ideal": round(result["wall_s"] / ideal_s, 3) if ideal_s else None,
        "marketo_calls": result["marketo_calls"],
        "ideal_marketo_calls": calls,
        "marketo_calls_over_ideal": round(result["marketo_calls"] / calls, 3) if calls else None,
        **_with_startup(result, calls),
        "dataverse_calls": result["dataverse_calls"],
        "store_writes": result["store_writes"],
        "records_per_s": round(records / result["wall_s"], 1) if result["wall_s"] else None,
        "peak_rss_mb": result["peak_rss_mb"],
        "cpu_s": result["cpu_s"],
        "busy_s": result["busy_s"],
        "objects": result["objects"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench full-copy", description=__doc__)
    parser.add_argument("--persons", type=int, default=20_000, help="leads + contacts (half each)")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--opportunities", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=1.0, help="divide Marketo's window and latencies by X")
    parser.add_argument("--path", choices=("rest", "bulk"), default="rest", help="how contacts and leads are copied")
    parser.add_argument(
        "--assumed-import-rows-per-s",
        type=float,
        default=200.0,
        help="Marketo's bulk import rate per job, for the 10-million projection (an assumption: Adobe publishes none)",
    )
    parser.add_argument(
        "--latency", choices=("realistic", "pessimistic"), default="realistic", help="the emulators' latency profile"
    )
    parser.add_argument("--out", type=Path, help="JSON result file (default bench/results/full_copy_<persons>.json)")
    args = parser.parse_args(argv)
    report = run(
        args.persons,
        args.accounts,
        args.opportunities,
        args.users,
        args.teams,
        args.time_scale,
        args.path,
        args.assumed_import_rows_per_s,
        args.latency,
    )
    name = f"full_copy_{args.persons}.json" if args.path == "rest" else f"full_copy_bulk_{args.persons}.json"
    if args.latency != "realistic":
        name = name.replace(".json", f"_{args.latency}.json")
    return write_result(report, args.out, name, hide=("objects", "seed"))
