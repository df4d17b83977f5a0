"""`python -m emulators <service> [options]`: serve one emulator until interrupted.

When ready it prints exactly one JSON line on stdout (url, credentials, CA file) and nothing
else there, so a script can read it and go."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from emulators.common.latency import Latency
from emulators.launch import FACTORIES, start_in_process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulators")
    parser.add_argument("service", choices=sorted(FACTORIES))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--https", action="store_true", help="serve TLS with a generated local CA")
    parser.add_argument("--time-scale", type=float, default=1.0, help="divide limit windows and latencies by X")
    parser.add_argument("--latency", choices=[m.value for m in Latency], default=Latency.NONE.value)
    parser.add_argument("--seed", type=int, default=0, help="records per table/object to start with")
    parser.add_argument("--state-dir", type=Path, help="where TLS files go (default: a temporary folder)")
    parser.add_argument("--custom-objects", type=Path, help="Marketo: custom object types (JSON)")
    parser.add_argument("--rate-calls", type=int, help="calls per rate window (Marketo 100, Dataverse 6000)")
    parser.add_argument("--rate-window", type=float, help="rate window in seconds (Marketo 20, Dataverse 300)")
    parser.add_argument("--concurrency", type=int, help="concurrent calls (Marketo 10, Dataverse 52)")
    parser.add_argument("--daily-quota", type=int, help="Marketo: calls per day (default 50000)")
    parser.add_argument("--tables", type=Path, help="Dataverse: custom tables (JSON)")
    parser.add_argument("--change-tracking-expiry-days", type=float, help="Dataverse: delta token lifetime (default 7)")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be > 0")
    options: dict[str, object] = {}
    if args.service == "marketo":
        given = {
            "custom_objects": args.custom_objects,
            "calls": args.rate_calls,
            "window_s": args.rate_window,
            "concurrency": args.concurrency,
            "daily_quota": args.daily_quota,
        }
        options = {k: v for k, v in given.items() if v is not None}
    if args.service == "dataverse":
        given = {
            "tables": args.tables,
            "requests_per_window": args.rate_calls,
            "window_s": args.rate_window,
            "concurrent": args.concurrency,
            "change_tracking_expiry_days": args.change_tracking_expiry_days,
        }
        options = {k: v for k, v in given.items() if v is not None}
    running = start_in_process(
        args.service,
        https=args.https,
        time_scale=args.time_scale,
        latency=Latency(args.latency),
        seed_count=args.seed,
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        **options,
    )
    print(json.dumps(running.info), flush=True)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
