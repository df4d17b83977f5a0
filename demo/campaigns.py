"""The demo's campaign act. Before the sync starts: a Dynamics campaign, Marketo's programs (the
emulator's seed, as a subscription has them) and a mapping file whose `campaign_responses` link the
webinar program to the campaign. Then, once copied: Marketo's "Add to Microsoft Campaign" — the
work of `POST /api/sync/campaign/add`, through `python -m sync campaign add` — puts the form-filler
into the campaign's static list in Dynamics, and the person attending the webinar (a program
status change in Marketo) becomes a campaign response on the next person run. Everything shown is
read back from Dynamics."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from demo.dynamics_user import DynamicsUser
from demo.report import marketo_rows
from sync.connectors.dataverse.changes import ANNOTATIONS
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.mapping.records import FORMATTED

CAMPAIGN = "Spring Webinar"


@dataclass(frozen=True)
class DemoCampaign:
    campaign_id: str
    program_id: int
    program: str


def prepare(dynamics: DataverseConnection, marketo: dict[str, Any], mapping: Path) -> DemoCampaign:
    """The campaign, the programs and the mapping file (set as SYNC_MAPPING_FILE by the caller)."""
    table = dynamics.metadata.describe("campaign")
    campaign = DynamicsUser(dynamics.client).create(table, {"name": CAMPAIGN, "typecode": 3})
    code = dynamics.client.get_json(f"campaigns({campaign})", params={"$select": "codename"})["codename"]
    seeded = requests.post(
        f"{marketo['url']}/_emulator/seed",
        json={"counts": {"program": 3}, "seed": 1},
        verify=marketo["ca_file"],
        timeout=10,
    )
    seeded.raise_for_status()
    webinar = next(p for p in marketo_rows(marketo, "program") if p["channel"] == "Webinar")
    mapping.write_text(
        "campaign_responses:\n"
        f"  - program: {webinar['name']!r}\n"
        f"    campaign: {code!r}\n"
        "    statuses: {Invited: none, Registered: none, Attended: Interested, No Show: Not Interested}\n",
        encoding="utf-8",
    )
    return DemoCampaign(campaign.lower(), int(webinar["id"]), str(webinar["name"]))


def show(
    demo: DemoCampaign,
    dynamics: DataverseConnection,
    marketo: Callable[[], AbstractContextManager[MarketoConnection]],
    email: str,
    say: Callable[[str], None],
    sync: Callable[..., subprocess.CompletedProcess[str]],
) -> bool:
    """`marketo` opens the demo's own Marketo connection, held only while it calls: it takes a
    share of Marketo's limits that the sync's processes would otherwise wait for."""
    with marketo() as connection:
        person = int(connection.persons.query("email", [email], ["id"])[0]["id"])
    say(f"\nCampaigns: Marketo adds {email} to the Dynamics campaign '{CAMPAIGN}' (its Add to Campaign step).")
    if sync("campaign", "add", str(person), demo.campaign_id).returncode != 0:
        return False
    lists = {
        r["listid"]: r["listname"] for r in dynamics.client.get_json("lists", params={"$select": "listname"})["value"]
    }
    items = dynamics.client.get_json("campaignitems", params={"$select": "entityid,_campaignid_value"})["value"]
    members = dynamics.client.get_json("listmembers", params={"$select": "name,_listid_value"})["value"]
    for member in members:
        attached = any(i["entityid"] == member["_listid_value"] for i in items)
        say(
            f"Dynamics: the list '{lists[member['_listid_value']]}'"
            f"{' (attached to the campaign)' if attached else ''} holds {member['name']}."
        )
    body = {"statusName": "Attended", "input": [{"leadId": person}]}
    with marketo() as connection:
        connection.client.call("POST", f"/rest/v1/programs/{demo.program_id}/members/status.json", json=body)
    say(f"\nThe person attends the webinar: Marketo's program '{demo.program}' marks them Attended (a success).")
    if sync("run", "--once", "--object", "person").returncode != 0:
        return False
    responses = dynamics.client.get_json(
        "campaignresponses",
        params={"$select": "subject,responsecode,receivedon,_regardingobjectid_value"},
        prefer=[ANNOTATIONS],
    )["value"]
    for response in responses:
        code = response.get(f"responsecode{FORMATTED}") or response["responsecode"]
        campaign = response.get(f"_regardingobjectid_value{FORMATTED}") or response["_regardingobjectid_value"]
        say(
            f"Dynamics: campaign response '{response['subject']}' on '{campaign}', "
            f"response code {code}, received {str(response['receivedon'])[:10]}."
        )
    return bool(members) and bool(responses)
