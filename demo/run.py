"""The demo: runs what is real today, against local stand-ins, and prints only real results.

Today: Azurite holds the sync's tables; the Dataverse and Marketo emulators run as their own
processes over HTTPS; the production connectors sign in (azure-identity, Marketo tokens), read
Dynamics contacts through change tracking, write them to Marketo as persons, read them back,
and keep the delta link as a checkpoint in Table Storage. Then a change made in Dynamics shows
up in the next delta read. The sync engine (mapping, links, conflicts, timers) is not built
yet: this is the connectors' round trip, not the sync.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from emulators.app_settings import app_settings
from emulators.azurite import AzuriteTable
from emulators.launch import start_subprocess
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.objects import Direction, SyncObject
from sync.settings import load_settings
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint, Phase

CONTACTS = 200


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo() -> int:
    started = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="sync-demo-"))
    dataverse = start_subprocess("dataverse", "--https", "--state-dir", str(state / "dataverse"))
    marketo = start_subprocess("marketo", "--https", "--state-dir", str(state / "marketo"))
    try:
        with AzuriteTable() as azurite:
            dv, mk = dataverse.info, marketo.info
            _say(f"Azurite (Table Storage)   127.0.0.1:{azurite.port}")
            _say(f"Dataverse emulator        {dv['url']}  (TLS, local CA)")
            _say(f"Marketo emulator          {mk['url']}  (TLS, local CA)")
            settings = load_settings(app_settings(dv, mk, storage=azurite.connection_string, SYNC_TABLE_PREFIX="demo"))
            store = SyncStore.from_settings(settings.storage)
            dynamics = DataverseConnection.from_settings(settings.dataverse, page_size=50)
            persons = MarketoConnection.from_settings(settings.marketo)
            _say("Settings validated; tables created in Azurite.\n")

            contact = dynamics.metadata.describe("contact")
            for n in range(CONTACTS):  # the "Dynamics org" gets its contacts through the Web API itself
                dynamics.writer.create(
                    contact,
                    {"firstname": f"Demo{n}", "lastname": "Contact", "emailaddress1": f"demo{n}@example.com"},
                )
            _say(
                f"Dataverse: signed in with azure-identity; 'contact' → entity set '{contact.entity_set}', "
                f"change tracking {'on' if contact.change_tracking else 'off'}, {len(contact.columns)} columns."
            )
            marketo_start = datetime.now(UTC) - timedelta(seconds=5)
            token = persons.activities.paging_token(marketo_start)

            rows, delta_link = [], ""
            pages = 0
            for page in dynamics.changes.read_changes(
                dynamics.changes.first_link("contacts", ["firstname", "lastname", "emailaddress1"])
            ):
                rows += page.rows
                delta_link = page.resume_link
                pages += 1
            _say(f"Dataverse: full change-tracking read → {len(rows)} contacts in {pages} pages; delta link kept.")
            checkpoint = store.checkpoints.save(
                Checkpoint(
                    object=SyncObject.CONTACT,
                    direction=Direction.DYNAMICS_TO_MARKETO,
                    phase=Phase.INCREMENTAL,
                    cursor=delta_link,
                    counters={"read": len(rows)},
                )
            )
            _say(f"Table Storage: checkpoint contact/dynamics_to_marketo saved (ETag {checkpoint.etag}).")

            results = persons.persons.upsert(
                [{"email": r["emailaddress1"], "firstName": r["firstname"], "lastName": r["lastname"]} for r in rows]
            )
            created = sum(1 for r in results if r.status == "created")
            _say(f"Marketo: pushed {len(results)} persons in {-(-len(results) // 300)} calls → {created} created.")
            found = persons.persons.query("email", [str(r["emailaddress1"]) for r in rows[:5]], ["email", "firstName"])
            _say(f"Marketo: read back {len(found)} of 5 by email, e.g. {found[0]['email']} ({found[0]['firstName']}).")
            changes = [a for p in persons.activities.read_changes(token, ["firstName"]) for a in p.activities]
            _say(f"Marketo: lead-change activities since start → {len(changes)} 'New Lead' (type 12).\n")

            for row in rows[:3]:
                dynamics.writer.update(contact, str(row["contactid"]), {"jobtitle": "Demo Lead"})
            dynamics.writer.delete(contact, str(rows[3]["contactid"]))
            latest = store.checkpoints.get(SyncObject.CONTACT, Direction.DYNAMICS_TO_MARKETO)
            if latest is None or not latest.cursor:
                _say("Table Storage: the checkpoint could not be read back (bug)")
                return 1
            delta = list(dynamics.changes.read_changes(latest.cursor))
            changed = sum(len(p.rows) for p in delta)
            deleted = sum(len(p.deleted) for p in delta)
            _say(
                f"Dataverse: 3 contacts updated and 1 deleted; the next delta read from the stored checkpoint → "
                f"{changed} changed, {deleted} deleted."
            )
            _say(
                f"Calls made: Dataverse {dynamics.client.calls} (of which {CONTACTS} created the demo's contacts), "
                f"Marketo {persons.client.limiter.calls_made} (daily budget {settings.marketo.daily_call_budget})."
            )
            dynamics.close()
            persons.close()
    finally:
        dataverse.stop()
        marketo.stop()
    _say(
        f"\nDemo finished in {time.monotonic() - started:.1f} s. The sync engine (mapping, links, conflicts, "
        "timers, full-copy orchestration) comes next; this demo grows with it."
    )
    return 0
