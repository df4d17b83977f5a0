"""The Dataverse emulator's marketing tables over the Web API (../shared/reference/dataverse-campaigns.md):
campaigns seeded and created with a generated code, static marketing lists filled by AddMemberList
and attached by AddItemCampaign (each twice: one member, one item), members taken out by DELETE,
campaign responses created by deep insert with their customer party, and what the service refuses
refused with its message."""

from __future__ import annotations

import re
from typing import Any

import pytest

from emulators.launch import RunningEmulator
from tests.emulator_support import control
from tests.test_dataverse_emulator import Raw


def _id(response: Any) -> str:
    assert response.status_code == 204, response.text
    return str(response.headers["OData-EntityId"]).rsplit("(", 1)[1][:-1]


def _rows(dataverse: RunningEmulator, table: str) -> list[dict[str, Any]]:
    return list(control(dataverse, "GET", f"data/{table}")["rows"])


@pytest.fixture
def raw(dataverse: RunningEmulator) -> Raw:
    return Raw(dataverse)


def test_seeded_campaigns_have_a_code_a_type_a_status_dates_and_an_owner(dataverse: RunningEmulator) -> None:
    control(dataverse, "POST", "seed", {"counts": {"systemuser": 2, "campaign": 5}, "seed": 4})
    campaigns = _rows(dataverse, "campaign")
    assert len(campaigns) == 5
    for campaign in campaigns:
        assert re.fullmatch(r"CMP-\d{5}-[A-Z0-9]{6}", campaign["codename"])
        assert campaign["typecode"] in (1, 2, 3, 4, 5) and campaign["statuscode"] in (0, 1, 2, 3)
        assert campaign["proposedstart"] < campaign["proposedend"] and campaign["ownerid"][0] == "systemuser"


def test_a_campaign_created_without_a_code_gets_one_and_starts_proposed(raw: Raw) -> None:
    campaign = raw("GET", f"campaigns({_id(raw('POST', 'campaigns', json={'name': 'Launch'}))})").json()
    assert re.fullmatch(r"CMP-\d{5}-[A-Z0-9]{6}", campaign["codename"]) and campaign["statuscode"] == 0


def test_add_member_list_adds_a_member_once_and_refuses_one_of_another_type(
    raw: Raw, dataverse: RunningEmulator
) -> None:
    contact = _id(raw("POST", "contacts", json={"lastname": "Member", "firstname": "Mo"}))
    lead = _id(raw("POST", "leads", json={"lastname": "Lead"}))
    contacts = _id(raw("POST", "lists", json={"listname": "Mkto-contacts-Launch", "createdfromcode": 2}))
    add = f"lists({contacts})/Microsoft.Dynamics.CRM.AddMemberList"
    first = raw("POST", add, json={"EntityId": contact})
    again = raw("POST", add, json={"EntityId": contact})
    assert first.status_code == 200 and first.json()["@odata.context"].endswith(
        "$metadata#Microsoft.Dynamics.CRM.AddMemberListResponse"
    )
    assert again.json()["Id"] == first.json()["Id"]
    (member,) = _rows(dataverse, "listmember")
    assert (member["listmemberid"], member["entityid"], member["entitytype"], member["name"]) == (
        first.json()["Id"],
        ["contact", contact],
        "contact",
        "Mo Member",
    )
    assert raw("GET", f"lists({contacts})").json()["membercount"] == 1
    wrong = raw("POST", add, json={"EntityId": lead})
    assert wrong.status_code == 404 and "this list takes contacts only" in wrong.json()["error"]["message"]
    assert raw("DELETE", f"listmembers({first.json()['Id']})").status_code == 204
    assert _rows(dataverse, "listmember") == [] and raw("GET", f"lists({contacts})").json()["membercount"] == 0


@pytest.mark.parametrize(
    ("list_values", "message"),
    [
        ({"lockstatus": True}, "The marketing list is locked"),
        ({"type": True}, "Members cannot be added to a dynamic marketing list"),
    ],
)
def test_a_locked_or_dynamic_list_takes_no_member(raw: Raw, list_values: dict[str, Any], message: str) -> None:
    contact = _id(raw("POST", "contacts", json={"lastname": "Member"}))
    listed = _id(raw("POST", "lists", json={"listname": "L", "createdfromcode": 2, **list_values}))
    refused = raw("POST", f"lists({listed})/Microsoft.Dynamics.CRM.AddMemberList", json={"EntityId": contact})
    assert refused.status_code == 400 and message in refused.json()["error"]["message"]


def test_a_list_needs_a_member_type(raw: Raw) -> None:
    refused = raw("POST", "lists", json={"listname": "No type"})
    assert refused.status_code == 400 and "createdfromcode" in refused.json()["error"]["message"]


def test_add_item_campaign_attaches_a_list_to_a_campaign_once(raw: Raw, dataverse: RunningEmulator) -> None:
    campaign = _id(raw("POST", "campaigns", json={"name": "Launch"}))
    leads = _id(raw("POST", "lists", json={"listname": "Mkto-leads-Launch", "createdfromcode": 4}))
    body = {"Campaign": {"@odata.type": "Microsoft.Dynamics.CRM.campaign", "campaignid": campaign}}
    first = raw("POST", f"lists({leads})/Microsoft.Dynamics.CRM.AddItemCampaign", json=body)
    again = raw("POST", f"lists({leads})/Microsoft.Dynamics.CRM.AddItemCampaign", json=body)
    assert first.status_code == 200 and first.json()["campaignitemid"] == again.json()["campaignitemid"]
    (item,) = _rows(dataverse, "campaignitem")
    assert (item["campaignid"], item["entityid"], item["entitytype"]) == (["campaign", campaign], leads, "list")


def test_a_campaign_response_is_created_with_its_customer_party_and_only_once_under_one_id(
    raw: Raw, dataverse: RunningEmulator
) -> None:
    campaign = _id(raw("POST", "campaigns", json={"name": "Webinar"}))
    contact = _id(raw("POST", "contacts", json={"lastname": "Attendee"}))
    response_id = "5b0d8a52-9f6e-4b1e-9a53-3c1f0e2d7a11"
    body = {
        "activityid": response_id,
        "subject": "Webinar: Attended",
        "responsecode": 1,
        "channeltypecode": 6,
        "receivedon": "2026-12-01",
        "regardingobjectid_campaign_campaignresponse@odata.bind": f"/campaigns({campaign})",
        "campaignresponse_activity_parties": [
            {"partyid_contact@odata.bind": f"/contacts({contact})", "participationtypemask": 11}
        ],
    }
    assert _id(raw("POST", "campaignresponses", json=body)) == response_id
    (party,) = _rows(dataverse, "activityparty")
    assert (party["activityid"], party["partyid"], party["participationtypemask"]) == (
        ["campaignresponse", response_id],
        ["contact", contact],
        11,
    )
    twice = raw("POST", "campaignresponses", json=body)
    assert twice.status_code == 412 and twice.json()["error"]["code"] == "0x80040237"
    assert len(_rows(dataverse, "campaignresponse")) == 1 and len(_rows(dataverse, "activityparty")) == 1
    wrong_nav = {**body, "activityid": None}
    wrong_nav["regardingobjectid_campaign@odata.bind"] = wrong_nav.pop(
        "regardingobjectid_campaign_campaignresponse@odata.bind"
    )
    refused = raw("POST", "campaignresponses", json={k: v for k, v in wrong_nav.items() if v is not None})
    assert refused.status_code == 400 and "undeclared property 'regardingobjectid_campaign'" in refused.text
    bad_party = {
        **body,
        "activityid": "6b0d8a52-9f6e-4b1e-9a53-3c1f0e2d7a12",
        "campaignresponse_activity_parties": [
            {"partyid_contact@odata.bind": f"/contacts({contact})", "participationtypemask": 2}
        ],
    }
    refused_party = raw("POST", "campaignresponses", json=bad_party)
    assert refused_party.status_code == 400 and "participationtypemask" in refused_party.json()["error"]["message"]
    assert len(_rows(dataverse, "campaignresponse")) == 1  # nothing of a refused create is kept
