"""Argument parsing and dispatch for `python -m sync`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sync.cli.local_settings import apply_local_settings
from sync.objects import SyncObject
from sync.reporting.errors_export import errors_as_csv, errors_as_json
from sync.reporting.status import status_report
from sync.settings import SettingsError, load_settings
from sync.store import SyncStore

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync", description=__doc__)
    parser.add_argument(
        "--settings-file",
        type=Path,
        default=Path("local.settings.json"),
        help="local.settings.json whose Values fill in unset environment variables",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-config", help="validate every setting and say what is wrong")
    sub.add_parser("status", help="print the status report (JSON)")
    errors = sub.add_parser("errors", help="export sync errors")
    errors.add_argument("--format", choices=("json", "csv"), default="json")
    errors.add_argument("--object", type=SyncObject, choices=list(SyncObject))
    errors.add_argument("--parked", choices=("true", "false"))
    retry = sub.add_parser("retry-errors", help="unpark errors and make them due now")
    retry.add_argument("--object", type=SyncObject, choices=list(SyncObject))
    sub.add_parser("demo", help="run the local demo against emulators and Azurite")
    return parser


def run_demo() -> int:
    """The demo lives beside the app in the source tree (`demo/`), never in the deployed app, and
    `sync` never imports it: it runs as its own process, as `make demo` runs it."""
    demo = Path(__file__).resolve().parents[2] / "demo"
    if not (demo / "__main__.py").is_file():
        print("The demo is part of the source tree, not of the deployed app: run `make demo` in a checkout.")
        return EXIT_CONFIG
    return subprocess.call([sys.executable, "-m", "demo"], cwd=demo.parent)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return run_demo()
    apply_local_settings(args.settings_file, os.environ)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        print("Configuration OK.")
        print(json.dumps(settings.summary(), indent=2, default=str))
        return 0
    store = SyncStore.from_settings(settings.storage)
    if args.command == "status":
        print(json.dumps(status_report(store, datetime.now(UTC)), indent=2))
    elif args.command == "errors":
        parked = None if args.parked is None else args.parked == "true"
        rows = store.errors.list(args.object, parked=parked)
        if args.format == "csv":
            sys.stdout.write(errors_as_csv(rows))
        else:
            print(json.dumps(errors_as_json(rows), indent=2))
    elif args.command == "retry-errors":
        print(f"retry requested for {store.errors.request_retry(args.object)} error(s)")
    return 0
