"""`python -m bench incremental`: after a full copy, each cycle changes a fraction of the persons
on both sides (half their job title in Dynamics, half in Marketo), then runs one cycle of every
object as the timers would. Reports calls per changed record, the lag from a change to its
arrival on the other side (timer wait excluded: add up to one schedule period), what a
quiescent cycle writes and calls, and Marketo calls per idle day with one-minute timers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.results_file import write_result
from bench.stack import stack


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench incremental", description=__doc__)
    parser.add_argument("--persons", type=int, default=10_000, help="leads + contacts (half each)")
    parser.add_argument("--change-fraction", type=float, default=0.01)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument(
        "--latency", choices=("realistic", "pessimistic"), default="realistic", help="the emulators' latency profile"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    leads = args.persons // 2
    seed = {"systemuser": 50, "team": 5, "account": 500, "contact": args.persons - leads, "lead": leads}
    with stack(seed, time_scale=args.time_scale, latency=args.latency) as running:
        result: dict[str, Any] = running.run_sync("incremental", str(args.change_fraction), str(args.cycles))
    report = {"job": "incremental", "latency": args.latency, "seed": seed, "time_scale": args.time_scale, **result}
    suffix = "" if args.latency == "realistic" else f"_{args.latency}"
    return write_result(report, args.out, f"incremental_{args.persons}{suffix}.json")
