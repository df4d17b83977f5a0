"""`python -m bench full-copy`: the first copy of an org, timed against Marketo's ceiling.

Azurite and both emulators run with realistic latency and Marketo's real limits (100 calls per
20 s, 10 at a time; `--time-scale X` divides the window and the latencies by X on both sides);
Dataverse is seeded; the sync copies every object in its own process through the steps the
Durable orchestration runs. The ideal is the rate-limit bound: the fewest Marketo calls that can
carry the records (300 a call) at the allowed call rate."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from bench.results_file import write_result
from bench.stack import MARKETO_WINDOW_S, stack

MARKETO_CALLS_PER_WINDOW = 100
RECORDS_PER_CALL = 300


def ideal(result: dict[str, Any], time_scale: float) -> tuple[int, float]:
    """(fewest Marketo calls, their time at the allowed rate) for what the copy wrote."""
    calls = sum(math.ceil(o["written"] / RECORDS_PER_CALL) for o in result["objects"].values())
    rate = MARKETO_CALLS_PER_WINDOW / (MARKETO_WINDOW_S / time_scale)
    return calls, calls / rate


def run(persons: int, accounts: int, opportunities: int, users: int, teams: int, time_scale: float) -> dict[str, Any]:
    leads = persons // 2
    seed = {
        "systemuser": users,
        "team": teams,
        "account": accounts,
        "contact": persons - leads,
        "lead": leads,
        "opportunity": opportunities,
    }
    with stack(seed, time_scale=time_scale) as running:
        result = running.run_sync("full-copy")
    calls, ideal_s = ideal(result, time_scale)
    records = sum(o["records"] for o in result["objects"].values())
    return {
        "job": "full-copy",
        "seed": seed,
        "time_scale": time_scale,
        "records": records,
        "wall_s": result["wall_s"],
        "ideal_s": round(ideal_s, 3),
        "wall_over_ideal": round(result["wall_s"] / ideal_s, 3) if ideal_s else None,
        "marketo_calls": result["marketo_calls"],
        "ideal_marketo_calls": calls,
        "marketo_calls_over_ideal": round(result["marketo_calls"] / calls, 3) if calls else None,
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
    parser.add_argument("--out", type=Path, help="JSON result file (default bench/results/full_copy_<persons>.json)")
    args = parser.parse_args(argv)
    report = run(args.persons, args.accounts, args.opportunities, args.users, args.teams, args.time_scale)
    return write_result(report, args.out, f"full_copy_{args.persons}.json", hide=("objects", "seed"))
