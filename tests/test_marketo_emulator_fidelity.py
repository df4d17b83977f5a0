"""Parts of Marketo's API that widely used readers call, checked against Adobe's documentation:
Describe Activity Types, the list of export jobs, an export's `finishedAt`, the JSON envelope
(610) for a path the API does not have, the bulk activity extract, and bulk files' cells."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import requests

from emulators.launch import RunningEmulator
from tests.emulator_support import control
from tests.test_marketo_emulator import Caller


def _raw(emulator: RunningEmulator, path: str, token: str) -> requests.Response:
    return requests.get(
        f"{emulator.url}{path}",
        headers={"Authorization": f"Bearer {token}"},
        verify=emulator.info["ca_file"],
        timeout=10,
    )


def test_describe_activity_types_lists_every_type_the_activity_stream_carries(marketo: RunningEmulator) -> None:
    call = Caller(marketo)
    types = {t["id"]: t for t in call("GET", "/rest/v1/activities/types.json")["result"]}
    since = call("GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": "2020-01-01T00:00:00Z"})
    pushed = call("POST", "/rest/v1/leads.json", json={"input": [{"email": "t@example.com"}]})["result"][0]["id"]
    call(
        "POST",
        "/rest/v1/leads.json",
        json={"input": [{"id": pushed, "firstName": "T"}], "lookupField": "id", "action": "updateOnly"},
    )
    control(marketo, "POST", "seed", {"counts": {"program": 1}})
    program = control(marketo, "GET", "data/program")["rows"][0]["id"]
    status = {"statusName": "Registered", "input": [{"leadId": pushed}]}
    call("POST", f"/rest/v1/programs/{program}/members/status.json", json=status)
    engagement = [{"leadId": pushed, "type": t} for t in types if t not in (12, 13, 22, 37, 104)]
    control(marketo, "POST", "engagement", {"activities": engagement, "scores": [{"leadId": pushed, "leadScore": 5}]})
    call("POST", "/rest/v1/leads/delete.json", json={"input": [{"id": pushed}]})
    ids = sorted(types)
    activities = [
        activity
        for start in range(0, len(ids), 10)  # at most 10 types a call
        for activity in call(
            "GET",
            "/rest/v1/activities.json",
            params={
                "nextPageToken": since["nextPageToken"],
                "activityTypeIds": ",".join(map(str, ids[start : start + 10])),
            },
        )["result"]
    ]
    assert {a["activityTypeId"] for a in activities} == set(types) == {1, 2, 7, 9, 10, 11, 12, 13, 22, 37, 46, 104}
    for activity in activities:
        described = {a["name"] for a in types[activity["activityTypeId"]]["attributes"]}
        assert {a["name"] for a in activity.get("attributes", [])} <= described


def _export(call: Caller, start: str) -> str:
    window = {"createdAt": {"startAt": start, "endAt": "2030-01-20T00:00:00Z"}}
    created = call("POST", "/bulk/v1/leads/export/create.json", json={"fields": ["email"], "filter": window})
    return str(created["result"][0]["exportId"])


def test_export_jobs_are_listed_by_status_and_a_finished_one_says_when(marketo: RunningEmulator) -> None:
    call = Caller(marketo)
    call("POST", "/rest/v1/leads.json", json={"input": [{"email": "e@example.com"}]})
    done, waiting = _export(call, "2030-01-01T00:00:00Z"), _export(call, "2029-12-25T00:00:00Z")
    call("POST", f"/bulk/v1/leads/export/{done}/enqueue.json")
    for _ in range(2):  # queued → processing → completed, each after its time on the emulator clock
        control(marketo, "POST", "clock", {"advance_seconds": 60})
        status: dict[str, Any] = call("GET", f"/bulk/v1/leads/export/{done}/status.json")["result"][0]
    assert status["status"] == "Completed" and status["finishedAt"] >= status["startedAt"]
    listed = call("GET", "/bulk/v1/leads/export.json", params={"status": "created"})["result"]
    assert [j["exportId"] for j in listed] == [waiting] and "finishedAt" not in listed[0]
    both = call("GET", "/bulk/v1/leads/export.json", params={"batchSize": 1})
    assert len(both["result"]) == 1 and both["nextPageToken"]
    rest = call("GET", "/bulk/v1/leads/export.json", params={"batchSize": 1, "nextPageToken": both["nextPageToken"]})
    assert {both["result"][0]["exportId"], rest["result"][0]["exportId"]} == {done, waiting}


def test_a_path_the_api_does_not_have_gets_marketos_610_envelope(marketo: RunningEmulator) -> None:
    token = Caller(marketo).token
    response = _raw(marketo, "/rest/v1/no/such/thing.json", token)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and body["errors"] == [{"code": "610", "message": "Requested resource not found"}]


def _finish(marketo: RunningEmulator, call: Caller, kind: str, export_id: str) -> dict[str, Any]:
    call("POST", f"/bulk/v1/{kind}/export/{export_id}/enqueue.json")
    for _ in range(2):  # queued → processing → completed, each seen when asked after its time
        control(marketo, "POST", "clock", {"advance_seconds": 60})
        status: dict[str, Any] = call("GET", f"/bulk/v1/{kind}/export/{export_id}/status.json")["result"][0]
    assert status["status"] == "Completed"
    return status


def test_an_activity_extract_writes_the_chosen_types_with_their_attributes_as_json(marketo: RunningEmulator) -> None:
    call = Caller(marketo)
    created = call("POST", "/rest/v1/leads.json", json={"input": [{"email": "a@example.com"}, {"email": "b@x.com"}]})
    first = created["result"][0]["id"]
    call(
        "POST",
        "/rest/v1/leads.json",
        json={"input": [{"id": first, "firstName": "Ada"}], "lookupField": "id", "action": "updateOnly"},
    )
    clock = control(marketo, "GET", "clock")["now"][:10]
    window = {"createdAt": {"startAt": f"{clock}T00:00:00Z", "endAt": f"{clock}T23:59:59Z"}, "activityTypeIds": [12]}
    export = call("POST", "/bulk/v1/activities/export/create.json", json={"filter": window})["result"][0]
    status = _finish(marketo, call, "activities", export["exportId"])
    response = _raw(marketo, f"/bulk/v1/activities/export/{export['exportId']}/file.json", call.token)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "marketoGUID",
        "leadId",
        "activityDate",
        "activityTypeId",
        "campaignId",
        "primaryAttributeValueId",
        "primaryAttributeValue",
        "attributes",
    ]
    assert {int(r["leadId"]) for r in rows} == {first, created["result"][1]["id"]} and len(rows) == status[
        "numberOfRecords"
    ]
    assert {r["activityTypeId"] for r in rows} == {"12"}  # the update (13) is not asked for
    assert json.loads(rows[0]["attributes"]).get("Source Type") == "Web service API"
    assert rows[0]["campaignId"] == "null"
    # an activity export is known only on its own path; the lead export list does not show it
    listed = call("GET", "/bulk/v1/leads/export.json")["result"]
    assert export["exportId"] not in {j["exportId"] for j in listed}
    wrong_path = call("GET", f"/bulk/v1/leads/export/{export['exportId']}/status.json")
    assert wrong_path["success"] is False and wrong_path["errors"][0]["code"] == "1003"


def test_an_activity_extract_refuses_an_unknown_field_or_type(marketo: RunningEmulator) -> None:
    call = Caller(marketo)
    window = {"createdAt": {"startAt": "2030-01-01T00:00:00Z", "endAt": "2030-01-02T00:00:00Z"}}
    for body in ({"fields": ["email"], "filter": window}, {"filter": {**window, "activityTypeIds": [999]}}):
        refused = call("POST", "/bulk/v1/activities/export/create.json", json=body)
        assert refused["success"] is False and refused["errors"][0]["code"] == "1003"


def test_a_lead_extract_writes_booleans_as_marketo_does_and_sends_one_date_header(marketo: RunningEmulator) -> None:
    call = Caller(marketo)
    call(
        "POST",
        "/rest/v1/leads.json",
        json={
            "input": [
                {"email": "yes@example.com", "unsubscribed": True},
                {"email": "no@example.com", "unsubscribed": False},
            ]
        },
    )
    clock = control(marketo, "GET", "clock")["now"][:10]
    window = {"createdAt": {"startAt": f"{clock}T00:00:00Z", "endAt": f"{clock}T23:59:59Z"}}
    body = {"fields": ["email", "unsubscribed", "doNotCall"], "filter": window, "columnHeaderNames": {"email": "Email"}}
    export = call("POST", "/bulk/v1/leads/export/create.json", json=body)["result"][0]
    _finish(marketo, call, "leads", export["exportId"])
    response = _raw(marketo, f"/bulk/v1/leads/export/{export['exportId']}/file.json", call.token)
    rows = {r["Email"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows["yes@example.com"]["unsubscribed"] == "true"
    assert rows["no@example.com"]["unsubscribed"] == "false"
    assert rows["no@example.com"]["doNotCall"] == "null"  # never set
    assert len(response.raw.headers.getlist("Date")) == 1
