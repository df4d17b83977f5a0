"""Campaigns' static marketing lists and responses through the Web API
(../shared/reference/dataverse-campaigns.md §2-6): a campaign read, a list found by name and
member type or created under a given id, a list attached to a campaign (AddItemCampaign), a member
found, added (AddMemberList) or taken out (DELETE listmembers(id), the documented way;
RemoveMemberList's Web API shape is unconfirmed), a campaign response created with its customer
party by deep insert.

A create under an id already taken (412, 0x80040237) means an earlier attempt made it: it is
taken as done, so a retried call never makes a second list.
"""

from __future__ import annotations

from typing import Any, Final

from sync.connectors.dataverse.client import DataverseClient
from sync.connectors.dataverse.errors import DataverseError

MEMBER_TYPES: Final = {"account": 1, "contact": 2, "lead": 4}  # list.createdfromcode
EXISTS: Final = "0x80040237"
LIST_NAME_MAX: Final = 128
CUSTOMER: Final = 11  # activity party: the account, contact or lead that responded


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class MarketingLists:
    def __init__(self, client: DataverseClient) -> None:
        self.client = client

    def campaign(self, campaign_id: str) -> dict[str, Any] | None:
        """The campaign's name, code and state; None when Dynamics has no such campaign."""
        try:
            return self.client.get_json(
                f"campaigns({campaign_id})", params={"$select": "campaignid,name,codename,statecode"}
            )
        except DataverseError as error:
            if error.status == 404:
                return None
            raise

    def find(self, name: str, member_table: str) -> str | None:
        """A static list of this name and member type (the native sync's, or ours)."""
        where = f"listname eq {_quoted(name)} and createdfromcode eq {MEMBER_TYPES[member_table]} and type eq false"
        body = self.client.get_json("lists", params={"$select": "listid", "$filter": where, "$top": "1"})
        found = body.get("value") or []
        return str(found[0]["listid"]).lower() if found else None

    def create(self, list_id: str, name: str, member_table: str) -> None:
        body = {
            "listid": list_id,
            "listname": name[:LIST_NAME_MAX],
            "createdfromcode": MEMBER_TYPES[member_table],
            "type": False,
            "source": "Marketo",
            "purpose": "Members added by Marketo's Add to Campaign flow step, through the Dynamics-Marketo sync",
        }
        try:
            self.client.request("POST", "lists", json=body)
        except DataverseError as error:
            if error.code != EXISTS:
                raise

    def attach(self, list_id: str, campaign_id: str) -> None:
        campaign = {"@odata.type": "Microsoft.Dynamics.CRM.campaign", "campaignid": campaign_id}
        self.client.request(
            "POST", f"lists({list_id})/Microsoft.Dynamics.CRM.AddItemCampaign", json={"Campaign": campaign}
        )

    def member(self, list_id: str, record_id: str) -> str | None:
        """The list member standing for the record, if it is in the list."""
        where = f"_listid_value eq {list_id} and _entityid_value eq {record_id}"
        body = self.client.get_json("listmembers", params={"$select": "listmemberid", "$filter": where})
        found = body.get("value") or []
        return str(found[0]["listmemberid"]).lower() if found else None

    def add(self, list_id: str, record_id: str) -> str:
        response = self.client.request(
            "POST", f"lists({list_id})/Microsoft.Dynamics.CRM.AddMemberList", json={"EntityId": record_id}
        )
        return str(response.json()["Id"]).lower()

    def respond(self, response_id: str, campaign_id: str, member: tuple[str, str], values: dict[str, Any]) -> bool:
        """A campaign response from the lead or contact `member` (table, id), created under
        `response_id`; False when it exists already (made by an earlier attempt)."""
        table, record_id = member
        body = {
            "activityid": response_id,
            **values,
            "regardingobjectid_campaign_campaignresponse@odata.bind": f"/campaigns({campaign_id})",
            "campaignresponse_activity_parties": [
                {f"partyid_{table}@odata.bind": f"/{table}s({record_id})", "participationtypemask": CUSTOMER}
            ],
        }
        try:
            self.client.request("POST", "campaignresponses", json=body)
        except DataverseError as error:
            if error.code == EXISTS:
                return False
            raise
        return True

    def remove(self, member_id: str) -> bool:
        """False when the member was already gone."""
        try:
            self.client.request("DELETE", f"listmembers({member_id})")
        except DataverseError as error:
            if error.status == 404:
                return False
            raise
        return True
