"""The demo's engagement act: the form-filler opens an email and fills in a form in Marketo, and
Marketo's scoring gives them points; the next runs put the score on their contact and both
activities on the contact's timeline (rows of the Marketo activity table `python -m sync setup`
made before the first copy). Everything shown is read back from Dynamics."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import requests

from sync.connectors.dataverse.connection import DataverseConnection

TABLE = "mkto_marketoactivities"
LATE_WINDOW_S = 11 * 60  # engagement's own stream reads activities Marketo can no longer commit late


def _control(marketo: dict[str, Any], path: str, body: dict[str, Any]) -> None:
    done = requests.post(f"{marketo['url']}/_emulator/{path}", json=body, verify=marketo["ca_file"], timeout=10)
    done.raise_for_status()


def show(
    dynamics: DataverseConnection,
    marketo: dict[str, Any],
    person: int,
    email: str,
    say: Callable[[str], None],
    sync: Callable[..., subprocess.CompletedProcess[str]],
) -> bool:
    say(f"\nEngagement: in Marketo, {email} opens the newsletter and fills in the demo request form; scoring adds 25.")
    activities = [
        {"leadId": person, "type": "Open Email", "primaryAttributeValue": "Newsletter - December"},
        {"leadId": person, "type": "Fill Out Form", "primaryAttributeValue": "Request a demo"},
    ]
    _control(marketo, "engagement", {"activities": activities, "scores": [{"leadId": person, "leadScore": 25}]})
    say(
        "(The emulator's clock moves on 11 minutes: engagement's own stream reads activities older than 10,\n"
        " which Marketo can no longer commit late.)"
    )
    _control(marketo, "clock", {"advance_seconds": LATE_WINDOW_S})
    if sync("run", "--once", "--object", "person", "--object", "engagement").returncode != 0:
        return False
    contact = dynamics.client.get_json(
        "contacts",
        params={"$select": "contactid,fullname,mkto_leadscore", "$filter": f"emailaddress1 eq '{email}'"},
    )["value"][0]
    say(f"Dynamics: {contact['fullname']}'s Marketo Lead Score is {contact['mkto_leadscore']}.")
    rows = dynamics.client.get_json(
        TABLE,
        params={
            "$select": "subject,actualend,mkto_activitytype",
            "$filter": f"_regardingobjectid_value eq {contact['contactid']}",
        },
    )["value"]
    for row in rows:
        say(
            f"Dynamics: on the contact's timeline, '{row['subject']}' ({row['mkto_activitytype']}, {row['actualend']})."
        )
    shown = {row["mkto_activitytype"] for row in rows}
    return {"Open Email", "Fill Out Form"} <= shown and contact["mkto_leadscore"] == 25
