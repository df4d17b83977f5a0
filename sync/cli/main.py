"""`python -m sync`: the same engine and store calls as the Functions, for local runs and admins."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sync.cli.local_settings import apply_local_settings
from sync.cli.store_commands import errors_command, pause_command, resume_command, status_command
from sync.log_redaction import redact_secrets
from sync.mapping.file import MappingError
from sync.objects import FULL_COPY_ORDER, SyncObject
from sync.setting_problems import SettingsError
from sync.settings import load_settings
from sync.store import SyncStore
from sync.store.change_queue import ChangeQueue

EXIT_FAILED = 1
EXIT_CONFIG = 2


def _moment(text: str) -> datetime:
    """An ISO 8601 date or moment; one without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: give ISO 8601, e.g. 2026-12-01 or 2026-12-01T08:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _since(text: str) -> datetime:
    """`30d`, `12h` (that long ago), or an ISO 8601 date or moment."""
    units = {"d": 86_400, "h": 3600}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    return _moment(text)


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
    copy.add_argument(
        "--path",
        choices=("auto", "rest", "bulk"),
        default="auto",
        help="contacts and leads: REST pushes, Marketo's bulk import, or by size (SYNC_BULK_THRESHOLD)",
    )
    copy.add_argument(
        "--dry-run",
        action="store_true",
        help="say what the copy would do, writing nothing (the store keeps the preview for GET sync/preview)",
    )
    copy.add_argument(
        "--since",
        type=_since,
        metavar="AGE|DATE",
        help="with --object engagement: backfill the activities since then (e.g. 30d, or 2026-11-01) by bulk extract",
    )
    copy.add_argument("--json", action="store_true", help="with --dry-run: one JSON document")
    copy.add_argument("--html", metavar="FILE", help="with --dry-run: also write the preview page to FILE")
    run = sub.add_parser("run", help="incremental runs: --once, or on the objects' schedules until interrupted")
    run.add_argument("--once", action="store_true", help="one run per object, then exit")
    run.add_argument(
        "--object",
        type=SyncObject,
        choices=list(SyncObject),
        metavar="OBJECT",
        action="append",
        help="only this object (repeat for several); default every object",
    )
    run.add_argument(
        "--listen", type=int, metavar="PORT", help="serve the change routes (webhooks) on 127.0.0.1:PORT too"
    )
    status = sub.add_parser("status", help="the status report (a table; --json for the report itself)")
    status.add_argument("--json", action="store_true")
    errors = sub.add_parser("errors", help="export sync errors (JSON, or CSV); --retry makes them due now first")
    errors.add_argument("--csv", action="store_true", help="CSV instead of JSON")
    errors.add_argument("--retry", action="store_true", help="unpark the errors and make them due at the next run")
    errors.add_argument("--object", type=SyncObject, choices=list(SyncObject), metavar="OBJECT")
    errors.add_argument("--parked", choices=("true", "false"))
    resync = sub.add_parser(
        "resync-field",
        help="push mapped fields to Marketo for every linked record, or (Quick Sync) those changed since a date",
    )
    resync.add_argument("object", type=SyncObject, choices=list(SyncObject), metavar="OBJECT")
    resync.add_argument("field", metavar="FIELD", nargs="+", help="a field's Marketo name or Dynamics column")
    resync.add_argument("--created-since", type=_moment, metavar="WHEN", help="only records created since (ISO 8601)")
    resync.add_argument("--modified-since", type=_moment, metavar="WHEN", help="only records modified since (ISO 8601)")
    for name, says in (("pause", "pause"), ("resume", "resume")):
        command = sub.add_parser(name, help=f"{says} one object's sync, or every object's")
        command.add_argument("object", type=SyncObject, choices=list(SyncObject), metavar="OBJECT", nargs="?")
    webhooks = sub.add_parser(
        "setup-webhooks", help="register the Dataverse webhook that posts changes to the change route (idempotent)"
    )
    webhooks.add_argument("--url", required=True, help="the change route: https://<app>/api/changes/dataverse")
    sub.add_parser("remove-webhooks", help="remove the Dataverse webhook (changes then cross with the timers)")
    sub.add_parser(
        "setup",
        help="create engagement's columns, Marketo activity table and key in Dynamics when missing (idempotent)",
    )
    campaign = sub.add_parser(
        "campaign", help="add a Marketo person's lead or contact to a Dynamics campaign, or remove one the sync added"
    )
    campaign.add_argument("action", choices=("add", "remove"))
    campaign.add_argument("person", type=int, metavar="PERSON", help="the Marketo person id")
    campaign.add_argument("campaign", metavar="CAMPAIGN", help="the Dynamics campaign id")
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
    redact_secrets(settings)
    if args.command == "check-config":
        print("Configuration OK.")
        print(json.dumps(settings.summary(), indent=2, default=str))
        return 0
    if args.command == "setup":
        from sync.cli.setup_command import setup_command

        try:
            return setup_command(settings)
        except MappingError as exc:
            print(exc, file=sys.stderr)
            return EXIT_CONFIG
    if args.command in ("check", "full-copy", "run", "resync-field", "setup-webhooks", "remove-webhooks", "campaign"):
        from sync.cli import engine_commands as commands
        from sync.engine.full_copy import BulkRefused
        from sync.engine.resync import ResyncError, ResyncRequest

        try:
            if args.command == "check":
                return commands.check(settings)
            if args.command == "full-copy" and args.dry_run:
                from sync.cli.preview_command import preview_command

                return preview_command(settings, commands.objects_of(args.object), args.json, args.html)
            if args.command == "full-copy" and args.since is not None:
                if args.object is not SyncObject.ENGAGEMENT:
                    print("--since backfills engagement: give --object engagement", file=sys.stderr)
                    return EXIT_CONFIG
                return commands.backfill_command(settings, args.since)
            if args.command == "full-copy":
                return commands.full_copy_command(settings, commands.objects_of(args.object), args.again, args.path)
            if args.command == "resync-field":
                request = ResyncRequest(
                    object=args.object,
                    fields=tuple(args.field),
                    created_since=args.created_since,
                    modified_since=args.modified_since,
                )
                return commands.resync_command(settings, request)
            if args.command == "setup-webhooks":
                return commands.setup_webhooks_command(settings, args.url)
            if args.command == "remove-webhooks":
                return commands.remove_webhooks_command(settings)
            if args.command == "campaign":
                return commands.campaign_command(settings, args.action, args.person, args.campaign)
            objects = [o for o in FULL_COPY_ORDER if o in args.object] if args.object else list(FULL_COPY_ORDER)
            return commands.run_command(settings, objects, args.once, args.listen)
        except (MappingError, ResyncError, BulkRefused) as exc:
            print(exc, file=sys.stderr)
            return EXIT_CONFIG
        except commands.STOPPING_FAILURES as exc:
            print(commands.stopped_by(exc), file=sys.stderr)
            return EXIT_FAILED
    store = SyncStore.from_settings(settings.storage)
    if args.command == "status":
        queue = ChangeQueue.open(settings.storage.connection.get_secret_value(), settings.sync.change_queue)
        return status_command(store, args.json, queue)
    if args.command == "errors":
        parked = None if args.parked is None else args.parked == "true"
        return errors_command(store, args.object, parked, args.csv, args.retry)
    objects = [args.object] if args.object is not None else list(FULL_COPY_ORDER)
    return pause_command(store, objects) if args.command == "pause" else resume_command(store, objects)
