"""`python -m bench engagement`: what engagement costs at a given volume — a stretch of a busy day
(`--minutes` at `--per-day` activities a day, the emulator's realistic mix: deliveries, opens,
visits, clicks, forms, moments, unsubscribes) replayed on Marketo's clock against linked persons,
with the person stream's one-minute timer and engagement's own (`--every`, default 30 minutes). Reports Marketo
calls per stream (and per day at that rate), Dynamics `$batch` requests and rows, and whether a
day of it stays within the daily budget with the record sync idle."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.results_file import write_result
from bench.stack import ROOT, stack

DAILY_BUDGET = 40_000
ENGAGEMENT_BUDGET = 4_000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench engagement", description=__doc__)
    parser.add_argument("--per-day", type=int, default=1_000_000, help="engagement activities a day")
    parser.add_argument("--minutes", type=int, default=120, help="how much of the day to replay")
    parser.add_argument("--persons", type=int, default=20_000, help="linked contacts the activities are spread over")
    parser.add_argument("--every", type=int, default=30, help="minutes between engagement's own runs")
    parser.add_argument("--latency", default="none", help="emulator latency profile (calls are counted, not timed)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    seed = {"systemuser": 5, "contact": args.persons}
    # Marketo's rate window 20× shorter (calls are counted, not timed); its daily quota as it is
    with stack(seed, latency=args.latency, time_scale=20.0) as running:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
        done = subprocess.run(
            [sys.executable, "-m", "bench.engagement_process", str(args.per_day), str(args.minutes), str(args.every)],
            cwd=ROOT,
            env={**clean, **running.env},
            stdout=subprocess.PIPE,
            text=True,
            timeout=4 * 3600,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    scale = 1440 / args.minutes
    per_day = {stream: round(calls * scale) for stream, calls in result["marketo_calls"].items()}
    day_total = sum(per_day.values())
    report = {
        "job": "engagement",
        "per_day": args.per_day,
        "minutes": args.minutes,
        "engagement_every_min": args.every,
        "persons": args.persons,
        "latency": args.latency,
        "assumed": "calls per day = calls in the replayed minutes × 1440 / minutes (the rate is steady); "
        "Marketo's rate window 20× shorter in the emulator and the sync (calls are counted, not timed)",
        **result,
        "marketo_calls_per_day": per_day,
        # steady state: the timer's runs, their calls over the activities they read (the drain aside)
        "engagement_calls_per_million": round(
            result["engagement_scheduled_runs"]["calls"]
            * 1_000_000
            / max(result["engagement_scheduled_runs"]["read"], 1)
        ),
        "rows_per_batch": round(result["timeline_rows"] / max(result["dataverse_batches"], 1), 1),
        "day_within_budget": day_total <= DAILY_BUDGET and per_day["engagement"] <= ENGAGEMENT_BUDGET,
        "daily_budget": DAILY_BUDGET,
        "engagement_budget": ENGAGEMENT_BUDGET,
        "goals": {"engagement_calls_per_million_max": 3400, "writes_per_batch_max": 1000},
    }
    return write_result(report, args.out, f"engagement_{args.per_day}.json")
