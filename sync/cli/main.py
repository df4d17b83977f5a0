"""`python -m sync`: the same engine and store calls as the Functions, for local runs and admins."""

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
from sync.mapping.load import MappingError
from sync.objects import SyncObject
from sync.reporting.errors_export import errors_as_csv, errors_as_json
from sync.reporting.status import status_report
from sync.reporting.status_text import status_table
from sync.settings import SettingsError, load_settings
from sync.store import SyncStore

EXIT_FAILED = 1
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
    sub.add_parser("check", help="the setup checklist: sign-ins, table access, change tracking, mapping, Marketo")
    copy = sub.add_parser("full-copy", help="copy every record of an object (all objects in order by default)")
    copy.add_argument("--object", type=SyncObject, choices=list(SyncObject), metavar="OBJECT")
    copy.add_argument("--again", action="store_true", help="start over (re-baseline), writing only what differs")
    run = sub.add_parser("run", help="incremental runs: --once, or every minute until interrupted")
    run.add_argument("--once", action="store_true", help="one run per object, then exit")
    run.add_argument("--object", type=SyncObject, choices=list(SyncObject), metavar="OBJECT")
    status = sub.add_parser("status", help="the status report (a table; --json for the report itself)")
    status.add_argument("--json", action="store_true")
    errors = sub.add_parser("errors", help="export sync errors")
    errors.add_argument("--format", choices=("json", "csv"), default="json")
    errors.add_argument("--object", type=SyncObject, choices=list(SyncObject), metavar="OBJECT")
    errors.add_argument("--parked", choices=("true", "false"))
    retry = sub.add_parser("retry-errors", help="unpark errors and make them due now")
    retry.add_argument("--object", type=SyncObject, choices=list(SyncObject), metavar="OBJECT")
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
    if args.command in ("check", "full-copy", "run"):
        from sync.cli import engine_commands as commands

        try:
            if args.command == "check":
                return commands.check(settings)
            if args.command == "full-copy":
                return commands.full_copy_command(settings, commands.objects_of(args.object), args.again)
            return commands.run_command(settings, commands.objects_of(args.object), args.once)
        except MappingError as exc:
            print(exc, file=sys.stderr)
            return EXIT_CONFIG
    store = SyncStore.from_settings(settings.storage)
    if args.command == "status":
        report = status_report(store, datetime.now(UTC))
        print(json.dumps(report, indent=2) if args.json else status_table(report))
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
