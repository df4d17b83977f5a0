"""The demo: the sync between local emulators of Dynamics and Marketo, checkpoints in Azurite,
driven through the same CLI an admin uses. It prints only what really happened.

1. Azurite and both emulators start (Dataverse seeded with users, teams, accounts, contacts,
   leads and opportunities; Marketo holding one person who filled in a form before the sync);
2. `python -m sync check` validates the setup;
3. `python -m sync full-copy` copies every object in dependency order;
4. records change in Dynamics (an update, a create, a delete, a new stakeholder, a record
   taken out of the sync), and `python -m sync run --once` carries them over;
5. a second `run --once` finds nothing to do and writes nothing;
6. `python -m sync status` shows where every object stands.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from emulators.app_settings import app_settings
from emulators.azurite import AzuriteTable
from emulators.launch import EmulatorProcess, start_subprocess
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.settings import DataverseSettings, MarketoSettings, load_section

SEED = 300
ROOT = Path(__file__).resolve().parent.parent


def _say(text: str = "") -> None:
    print(text, flush=True)


def _sync(env: dict[str, str], *args: str) -> int:
    _say(f"\n$ python -m sync {' '.join(args)}")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "MARKETO_", "SYNC_"))}
    return subprocess.call([sys.executable, "-m", "sync", *args], cwd=ROOT, env={**clean, **env})


def _marketo(emulator: EmulatorProcess, collection: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{emulator.info['url']}/_emulator/data/{collection}", verify=emulator.info["ca_file"], timeout=30
    )
    answer.raise_for_status()
    return list(answer.json()["rows"])


def _edit_dynamics(dynamics: DataverseConnection) -> dict[str, str]:
    """Changes an admin or a salesperson would make, through the Dataverse Web API."""
    tables = {name: dynamics.metadata.describe(name) for name in ("contact", "lead", "account", "opportunity")}

    def first(table: str, column: str) -> str:
        body = dynamics.client.get_json(tables[table].entity_set, params={"$select": column, "$top": "2"})
        return str(body["value"][0][column])

    contact, account, opportunity = (
        first("contact", "contactid"),
        first("account", "accountid"),
        first("opportunity", "opportunityid"),
    )
    dynamics.writer.update(tables["contact"], contact, {"jobtitle": "Chief Demo Officer"})
    lead = dynamics.writer.create(
        tables["lead"],
        {"firstname": "Ada", "lastname": "Lovelace", "emailaddress1": "ada@example.com", "companyname": "Engines"},
    )
    dynamics.writer.delete(tables["account"], account)
    role = dynamics.writer.create(dynamics.metadata.describe("connectionrole"), {"name": "Champion", "category": 1000})
    dynamics.writer.create(
        dynamics.metadata.describe("connection"),
        {
            "record1id_opportunity@odata.bind": f"/opportunities({opportunity})",
            "record2id_contact@odata.bind": f"/contacts({contact})",
            "record2roleid@odata.bind": f"/connectionroles({role})",
        },
    )
    body = dynamics.client.get_json("contacts", params={"$select": "contactid", "$top": "3"})
    private = str(body["value"][2]["contactid"])
    dynamics.writer.update(tables["contact"], private, {"new_synctomkto": False, "jobtitle": "Not for Marketo"})
    return {"contact": contact, "lead": lead, "account": account, "private": private}


def run_demo() -> int:
    started = time.monotonic()
    state = Path(tempfile.mkdtemp(prefix="sync-demo-"))
    dataverse = start_subprocess("dataverse", "--https", "--seed", str(SEED), "--state-dir", str(state / "dv"))
    marketo = start_subprocess("marketo", "--https", "--state-dir", str(state / "mk"))
    try:
        with AzuriteTable() as azurite:
            env = app_settings(
                dataverse.info, marketo.info, storage=azurite.connection_string, SYNC_TABLE_PREFIX="demo"
            )
            _say(f"Azurite (Table Storage)  127.0.0.1:{azurite.port}")
            _say(f"Dataverse emulator       {dataverse.info['url']}  ({SEED} rows per table, TLS with a local CA)")
            _say(f"Marketo emulator         {marketo.info['url']}  (TLS with a local CA)")
            dynamics = DataverseConnection.from_settings(load_section(DataverseSettings, env))
            contact_email = str(
                dynamics.client.get_json("contacts", params={"$select": "emailaddress1", "$top": "1"})["value"][0][
                    "emailaddress1"
                ]
            )
            form = MarketoConnection.from_settings(load_section(MarketoSettings, env))
            form.persons.upsert([{"email": contact_email, "firstName": "From a web form"}])
            form.close()
            _say(f"Marketo already holds one person, {contact_email}, who filled in a form: first matching links it.")

            if _sync(env, "check") != 0 or _sync(env, "full-copy") != 0:
                return 1
            persons = _marketo(marketo, "lead")
            matched = [p for p in persons if p.get("email") == contact_email]
            counts = {name: len(_marketo(marketo, name)) for name in ("company", "opportunity", "salesperson")}
            _say(
                f"\nMarketo now: {len(persons)} persons ({len(matched)} for {contact_email}: the form-filler, linked), "
                f"{counts['company']} companies, {counts['opportunity']} opportunities, "
                f"{counts['salesperson']} sales persons."
            )

            changed = _edit_dynamics(dynamics)
            _say(
                "\nIn Dynamics: a contact's job title changed, a lead was created, an account deleted, a stakeholder "
                "added to an opportunity, and a contact taken out of the sync (new_synctomkto = false)."
            )
            if _sync(env, "run", "--once") != 0:
                return 1
            by_id = {p.get("dynamicsId"): p for p in _marketo(marketo, "lead")}
            companies = {c.get("externalCompanyId") for c in _marketo(marketo, "company")}
            roles = len(_marketo(marketo, "opportunityrole"))
            _say(
                f"\nMarketo after one run: the contact's title is {by_id[changed['contact']].get('title')!r}; "
                f"Ada Lovelace is a person: {changed['lead'] in by_id}; the deleted account's company is gone: "
                f"{changed['account'] not in companies}; opportunity roles: {roles}; "
                f"the private contact's title stayed {by_id[changed['private']].get('title')!r}."
            )
            _say(
                "\nA second run finds nothing to do and writes nothing "
                "(the person stream reads back the sync's own writes and drops them):"
            )
            _sync(env, "run", "--once")
            _sync(env, "status")
            dynamics.close()
    finally:
        dataverse.stop()
        marketo.stop()
    _say(f"\nDemo finished in {time.monotonic() - started:.1f} s.")
    return 0
