"""The Marketo emulator's programs (../shared/reference/marketo-more.md §b): seeded programs and
the channels' statuses through the Asset API (nothing found: a success with Marketo's warning),
and a person's program status changed through the Lead Database API — a new member, a step up,
a step not up (skipped, 1037), an unknown person (1004), an unknown status (1003) — each change a
"Change Status in Progression" activity (104) naming the program and both statuses; the responses
validate against Adobe's Swagger schemas."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.launch import RunningEmulator
from tests.emulator_support import control
from tests.test_marketo_emulator import Caller, _spec, _validator


@pytest.fixture
def call(marketo: RunningEmulator) -> Caller:
    control(marketo, "POST", "seed", {"counts": {"lead": 2, "program": 3}, "seed": 5})
    return Caller(marketo)


def _webinar(call: Caller) -> dict[str, Any]:
    programs = call("GET", "/rest/asset/v1/programs.json", params={"maxReturn": 200})["result"]
    assert [p["channel"] for p in programs] == ["Webinar", "Email Send", "Tradeshow"]
    return dict(programs[0])


def test_programs_and_channels_are_read_by_id_by_name_and_as_lists(call: Caller) -> None:
    webinar = _webinar(call)
    assert call("GET", f"/rest/asset/v1/program/{webinar['id']}.json")["result"] == [webinar]
    named = call("GET", "/rest/asset/v1/program/byName.json", params={"name": webinar["name"]})
    assert named["result"] == [webinar]
    missing = call("GET", "/rest/asset/v1/program/99999.json")
    assert missing["success"] is True and "result" not in missing
    assert missing["warnings"] == ["No assets found for the given search criteria."]
    (channel,) = call("GET", "/rest/asset/v1/channel/byName.json", params={"name": "Webinar"})["result"]
    statuses = {s["name"]: (s["step"], s["success"]) for s in channel["progressionStatuses"]}
    assert statuses["Registered"] == (20, False) and statuses["Attended"] == (40, True)
    assert len(call("GET", "/rest/asset/v1/channels.json")["result"]) == 3


def test_a_status_change_makes_a_member_moves_it_up_never_down_and_records_each_change(
    call: Caller, marketo: RunningEmulator
) -> None:
    webinar = _webinar(call)
    lead_id = control(marketo, "GET", "data/lead")["rows"][0]["id"]
    path = f"/rest/v1/programs/{webinar['id']}/members/status.json"
    since = call("GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": "2020-01-01T00:00:00Z"})

    def change(status: str, *leads: int) -> list[dict[str, Any]]:
        body = call(
            "POST",
            path,
            "/rest/v1/programs/{programId}/members/status.json",
            json={
                "statusName": status,
                "input": [{"leadId": lead} for lead in leads],
            },
        )
        return list(body["result"])

    assert [r["status"] for r in change("Registered", lead_id, 999_999)] == ["updated", "skipped"]
    again = change("Registered", lead_id)
    assert again[0]["status"] == "skipped" and again[0]["reasons"][0]["code"] == "1037"
    assert change("Attended", lead_id)[0]["status"] == "updated"
    assert change("Registered", lead_id)[0]["reasons"][0]["code"] == "1037"  # never down
    (member,) = control(marketo, "GET", "data/programmember")["rows"]
    assert (member["statusName"], member["reachedSuccess"]) == ("Attended", True)
    read = call(
        "GET",
        f"/rest/v1/programs/{webinar['id']}/members.json",
        "/rest/v1/programs/{programId}/members.json",
        params={"filterType": "leadId", "filterValues": str(lead_id), "fields": "statusName,reachedSuccess"},
    )
    assert read["result"][0]["statusName"] == "Attended"

    activities = call(
        "GET",
        "/rest/v1/activities.json",
        params={"nextPageToken": since["nextPageToken"], "activityTypeIds": "104"},
    )["result"]
    assert [a["primaryAttributeValueId"] for a in activities] == [webinar["id"], webinar["id"]]
    changes = [{x["name"]: x["value"] for x in a["attributes"]} for a in activities]
    assert [(c["Old Status"], c["New Status"], c["Success"]) for c in changes] == [
        ("Not in Program", "Registered", False),
        ("Registered", "Attended", True),
    ]
    assert activities[0]["primaryAttributeValue"] == webinar["name"] and activities[0]["leadId"] == lead_id

    mapi = _spec("swagger-mapi.json")
    for swagger_path, method, body in call.seen:
        if swagger_path.startswith("/rest/v1/programs/"):
            assert list(_validator(mapi, swagger_path, method).iter_errors(body)) == []


def test_an_unknown_status_or_program_is_refused_for_the_whole_request(call: Caller) -> None:
    webinar = _webinar(call)
    unknown = call(
        "POST",
        f"/rest/v1/programs/{webinar['id']}/members/status.json",
        json={
            "statusName": "Clicked",
            "input": [{"leadId": 1}],
        },
    )
    assert unknown["success"] is False and unknown["errors"][0]["code"] == "1003"
    assert "Invalid status 'Clicked' for channel 'Webinar'" in unknown["errors"][0]["message"]
    nowhere = call(
        "POST",
        "/rest/v1/programs/424242/members/status.json",
        json={
            "statusName": "Registered",
            "input": [{"leadId": 1}],
        },
    )
    assert nowhere["errors"][0]["code"] == "1003"
