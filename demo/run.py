"""The demo: the sync between local emulators of Dynamics and Marketo, checkpoints in Azurite,
driven through the same CLI an admin uses. It prints only what really happened.

1. Azurite and both emulators start (Dataverse seeded with users, teams, accounts, contacts,
   leads and opportunities — a few thousand persons; Marketo holding one person who filled in a
   form before the sync);
2. `python -m sync setup` makes engagement's columns and activity table in Dynamics, and
   `python -m sync check` validates the setup;
3. `python -m sync full-copy --dry-run` previews the first copy (written nowhere; the preview page
   to a file), then `python -m sync full-copy` copies every object in dependency order, with progress bars;
4. both sides change: edits in Dynamics and in Marketo, two conflicts, a deletion, a lead
   qualification, an account deleted (see `demo/edits.py`);
5. `python -m sync run --once` cycles until one writes nothing;
6. a before / after report of every edit, read from both sides;
7. campaigns: `python -m sync campaign add` (the Add to Campaign webhook's work) puts a person
   into the campaign's list in Dynamics, and a program success becomes a campaign response;
8. changes in seconds: `setup-webhooks`, a Marketo trigger campaign, and `run --listen` in the
   background; an edit on each side timed until the other side shows it (`demo/webhooks.py`);
9. engagement: an email open, a form fill and a score in Marketo land on the contact in Dynamics,
   its timeline and its score column (`demo/engagement.py`);
10. `python -m sync status`, and the status page written to a file.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from demo import campaigns, engagement
from demo.edits import Editor, make_edits
from demo.report import marketo_rows, report, snapshot
from demo.webhooks import show_webhooks
from emulators.app_settings import app_settings
from emulators.azurite import AzuriteTable
from emulators.launch import EmulatorProcess, start_subprocess
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.engine.shared_limits import join_shared_limits
from sync.reporting.status import status_report
from sync.reporting.status_page import status_page
from sync.settings import DataverseSettings, MarketoSettings, StorageSettings, load_section
from sync.store import SyncStore
from sync.store.change_queue import ChangeQueue

SEED = 1500  # rows per Dataverse table: 1,500 contacts and 1,500 leads make 3,000 persons
MAX_CYCLES = 4
ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / ".demo" / "status.html"
PREVIEW_PAGE = ROOT / ".demo" / "preview.html"
MAPPING = ROOT / ".demo" / "mapping.yaml"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _sync(env: dict[str, str], *args: str, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """`python -m sync ...` as an admin runs it: its progress bars go to the terminal."""
    if not quiet:
        _say(f"\n$ python -m sync {' '.join(args)}")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
    done = subprocess.run(
        [sys.executable, "-m", "sync", *args], cwd=ROOT, env={**clean, **env}, stdout=subprocess.PIPE, text=True
    )
    _say(done.stdout.rstrip())
    return done


def _cycles(env: dict[str, str]) -> int:
    """Incremental cycles until one writes nothing on either side; returns how many wrote."""
    for cycle in range(1, MAX_CYCLES + 1):
        done = _sync(env, "run", "--once")
        if done.returncode != 0:
            raise SystemExit(done.returncode)
        written = sum(
            int(line.split("written ")[1].split(",")[0]) for line in done.stdout.splitlines() if "written " in line
        )
        if written == 0:
            _say(f"\nCycle {cycle} wrote nothing: both sides agree.")
            return cycle - 1
        _say(f"\nCycle {cycle} wrote {written} record(s).")
    raise SystemExit(f"the sync did not settle in {MAX_CYCLES} cycles")


def _write_status_page(env: dict[str, str]) -> Path:
    store = SyncStore.from_settings(load_section(StorageSettings, env))
    now = datetime.now(UTC)
    PAGE.parent.mkdir(exist_ok=True)
    queue = ChangeQueue.open(load_section(StorageSettings, env).connection.get_secret_value(), "sync-changes")
    PAGE.write_text(status_page(status_report(store, now, queue=queue)), encoding="utf-8")
    return PAGE


@contextmanager
def _marketo(env: dict[str, str]) -> Iterator[MarketoConnection]:
    """A Marketo connection for the demo's own edits: its calls take their share of Marketo's
    limits with the sync's processes (they share one subscription)."""
    connection = MarketoConnection.from_settings(load_section(MarketoSettings, env))
    store = SyncStore.from_settings(load_section(StorageSettings, env))
    shares = join_shared_limits(store.marketo_shares, connection.client.limiter, enabled=True)
    try:
        yield connection
    finally:
        if shares is not None:
            shares.close()
        connection.close()


def _form_filler(dynamics: DataverseConnection, env: dict[str, str]) -> str:
    body = dynamics.client.get_json(
        "contacts", params={"$select": "emailaddress1", "$top": "1", "$orderby": "createdon"}
    )
    email = str(body["value"][0]["emailaddress1"])
    with _marketo(env) as form:
        form.persons.upsert([{"email": email, "firstName": "From a web form"}])
    return email


def _demo(dataverse: EmulatorProcess, marketo: EmulatorProcess, azurite: AzuriteTable) -> int:
    env = app_settings(
        dataverse.info,
        marketo.info,
        storage=azurite.connection_string,
        SYNC_TABLE_PREFIX="demo",
        SYNC_WEBHOOK_SECRET=secrets.token_urlsafe(32),
        SYNC_DATAVERSE_WEBHOOK_KEY=secrets.token_urlsafe(32),
    )
    _say(f"Azurite (Table Storage)  127.0.0.1:{azurite.port}")
    _say(f"Dataverse emulator       {dataverse.info['url']}  ({SEED:,} rows per table, TLS with a local CA)")
    _say(f"Marketo emulator         {marketo.info['url']}  (Marketo's real limits: 100 calls / 20 s, 10 at once)")
    dynamics = DataverseConnection.from_settings(load_section(DataverseSettings, env))
    MAPPING.parent.mkdir(exist_ok=True)
    campaign = campaigns.prepare(dynamics, marketo.info, MAPPING)
    env["SYNC_MAPPING_FILE"] = str(MAPPING)
    _say(f"Dynamics holds the campaign '{campaigns.CAMPAIGN}'; Marketo its programs; the mapping file ({MAPPING})")
    _say(f"links the program '{campaign.program}' to the campaign: an attendee becomes a campaign response.")
    email = _form_filler(dynamics, env)
    _say(f"Marketo already holds one person, {email}, who filled in a form: the first match links it.")

    if _sync(env, "setup").returncode != 0:
        return 1
    if _sync(env, "check").returncode != 0:
        return 1
    PREVIEW_PAGE.parent.mkdir(exist_ok=True)
    if _sync(env, "full-copy", "--dry-run", "--html", str(PREVIEW_PAGE)).returncode != 0:
        return 1
    _say(f"\nThe preview page (what GET /api/sync/preview?format=html serves) is at {PREVIEW_PAGE}")
    if _sync(env, "full-copy").returncode != 0:
        return 1
    persons = marketo_rows(marketo.info, "lead")
    counts = {name: len(marketo_rows(marketo.info, name)) for name in ("company", "opportunity", "salesperson")}
    _say(
        f"\nMarketo now: {len(persons):,} persons ({sum(p.get('email') == email for p in persons)} for {email}: "
        f"the form-filler, linked), {counts['company']:,} companies, {counts['opportunity']:,} opportunities, "
        f"{counts['salesperson']:,} sales persons."
    )

    with _marketo(env) as connection:
        editor = Editor(dynamics, connection)
        edits = make_edits(editor)
    _say("\nBoth sides change:")
    for edit in edits:
        _say(f"  - {edit.what}")
    before = snapshot(dynamics, marketo.info, edits)
    wrote = _cycles(env)
    after = snapshot(dynamics, marketo.info, edits)
    _say(f"\nBefore → after the {wrote} cycle(s) that carried the changes:\n{report(edits, before, after)}")
    persons_after = marketo_rows(marketo.info, "lead")
    same = (
        "none duplicated: the qualified lead's contact took over its person"
        if len(persons_after) == len(persons)
        else "changed"
    )
    _say(f"\nPersons in Marketo: {len(persons):,} → {len(persons_after):,} ({same}).")

    if not campaigns.show(campaign, dynamics, lambda: _marketo(env), email, _say, lambda *args: _sync(env, *args)):
        return 1

    _say("\nChanges in seconds: webhooks both ways, through the change queue.")
    with _marketo(env) as connection:
        editor.marketo = connection  # the same editor: it takes records the edits above did not touch
        if not show_webhooks(env, editor, dataverse.info, marketo.info, _say, _sync):
            return 1

    with _marketo(env) as connection:
        person = int(connection.persons.query("email", [email], ["id"])[0]["id"])
    if not engagement.show(dynamics, marketo.info, person, email, _say, lambda *args: _sync(env, *args)):
        return 1

    _sync(env, "status")
    _say(f"\nThe status page (what GET /api/sync/dashboard serves) is at {_write_status_page(env)}")
    dynamics.close()
    return 0


def run_demo() -> int:
    started = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="sync-demo-"))
    dataverse = start_subprocess("dataverse", "--https", "--seed", str(SEED), "--state-dir", str(state / "dv"))
    marketo = start_subprocess("marketo", "--https", "--state-dir", str(state / "mk"))
    try:
        with AzuriteTable() as azurite:
            code = _demo(dataverse, marketo, azurite)
    finally:
        dataverse.stop()
        marketo.stop()
    _say(f"\nDemo finished in {time.monotonic() - started:.1f} s.")
    return code
