"""The Marketo emulator itself: Adobe's Swagger shapes, a real third-party client, and Marketo's
limits and token semantics as the emulator enforces them."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft4Validator

from emulators.launch import RunningEmulator
from tests.emulator_support import control, fault

REFERENCE = Path(__file__).resolve().parent / "reference" / "marketo"


def _spec(name: str) -> dict[str, Any]:
    return dict(json.loads((REFERENCE / name).read_text()))


class Caller:
    """Raw HTTP against the emulator, recording (swagger path, method, body) for validation."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.seen: list[tuple[str, str, dict[str, Any]]] = []
        self.token = _token(emulator)["access_token"]

    def __call__(self, method: str, path: str, swagger_path: str | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(
            method,
            f"{self.emulator.url}{path}",
            verify=self.emulator.info["ca_file"],
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        self.seen.append((swagger_path or path, method.lower(), body))
        return body


# Where Adobe's Swagger contradicts Marketo's documented wire format, the wire wins. Each entry
# is one schema node relaxed, and why.
SWAGGER_ERRATA: dict[tuple[str, str], dict[str, Any]] = {
    # Attribute.value is typed `object` (a Java codegen artefact); Marketo sends strings,
    # e.g. {"name": "Source", "value": "Web service API"} in Adobe's lead-changes examples.
    ("Attribute", "value"): {},
}


def _definitions(spec: dict[str, Any]) -> dict[str, Any]:
    definitions: dict[str, Any] = json.loads(json.dumps(spec["definitions"]))
    for (name, prop), schema in SWAGGER_ERRATA.items():
        if name in definitions:
            definitions[name]["properties"][prop] = schema
    return definitions


def _validator(spec: dict[str, Any], swagger_path: str, method: str) -> Draft4Validator:
    schema = spec["paths"][swagger_path][method]["responses"]["200"]["schema"]
    return Draft4Validator({**schema, "definitions": _definitions(spec)})


def test_every_response_validates_against_adobes_swagger_schemas(marketo: RunningEmulator) -> None:
    mapi, identity = _spec("swagger-mapi.json"), _spec("swagger-identity.json")
    call = Caller(marketo)
    token_body = _token(marketo)
    assert list(_validator(identity, "/identity/oauth/token", "get").iter_errors(token_body)) == []

    since = call("GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": "2020-01-01T00:00:00Z"})
    pushed = call(
        "POST",
        "/rest/v1/leads.json",
        json={
            "input": [
                {"email": "a@example.com", "firstName": "A"},
                {"email": "b@example.com"},
                {"email": "bad"},
            ]
        },
    )
    lead_id = pushed["result"][0]["id"]
    call(
        "GET",
        "/rest/v1/leads.json",
        params={"filterType": "email", "filterValues": "a@example.com", "fields": "email,firstName"},
    )
    call("GET", f"/rest/v1/lead/{lead_id}.json", "/rest/v1/lead/{leadId}.json")
    call("GET", "/rest/v1/leads/describe.json")
    call("GET", "/rest/v1/leads/describe2.json")
    call("GET", "/rest/v1/leads/schema/fields.json")
    call(
        "POST",
        "/rest/v1/leads/schema/fields.json",
        json={"input": [{"name": "dynamicsId", "displayName": "Dynamics Id", "dataType": "string"}]},
    )
    call("GET", "/rest/v1/leads/partitions.json")
    call("POST", "/rest/v1/leads.json", json={"input": [{"email": "a@example.com", "firstName": "B"}]})
    call(
        "GET",
        "/rest/v1/activities/leadchanges.json",
        params={"nextPageToken": since["nextPageToken"], "fields": "firstName"},
    )
    call(
        "POST",
        f"/rest/v1/leads/{lead_id}/merge.json",
        "/rest/v1/leads/{leadId}/merge.json",
        params={"leadIds": pushed["result"][1]["id"]},
    )
    call("POST", "/rest/v1/leads/delete.json", json={"input": [{"id": lead_id}, {"id": 999}]})
    call("GET", "/rest/v1/activities/deletedleads.json", params={"nextPageToken": since["nextPageToken"]})
    call("GET", "/rest/v1/stats/usage.json")
    for path, record, key in [
        ("companies", {"externalCompanyId": "c1", "company": "Contoso"}, "externalCompanyId"),
        ("opportunities", {"externalOpportunityId": "o1", "name": "Deal"}, "externalOpportunityId"),
        ("salespersons", {"externalSalesPersonId": "s1", "email": "s@x.com"}, "externalSalesPersonId"),
    ]:
        call("POST", f"/rest/v1/{path}.json", json={"input": [record]})
        call("GET", f"/rest/v1/{path}.json", params={"filterType": key, "filterValues": record[key]})
        call("GET", f"/rest/v1/{path}/describe.json")
        call("POST", f"/rest/v1/{path}/delete.json", json={"input": [{key: record[key]}]})
    role = {"externalOpportunityId": "o2", "leadId": pushed["result"][1]["id"], "role": "Champion"}
    call("POST", "/rest/v1/opportunities/roles.json", json={"input": [role]})
    call("GET", "/rest/v1/opportunities/roles/describe.json")
    call("POST", "/rest/v1/opportunities/roles/delete.json", json={"input": [role]})
    call("GET", "/rest/v1/customobjects.json")
    name = "/rest/v1/customobjects/{customObjectName}"
    call(
        "POST",
        "/rest/v1/customobjects/dynamicsProject_c.json",
        f"{name}.json",
        json={"input": [{"projectId": "p1", "projectName": "Apollo"}]},
    )
    call(
        "GET",
        "/rest/v1/customobjects/dynamicsProject_c.json",
        f"{name}.json",
        params={"filterType": "projectId", "filterValues": "p1"},
    )
    call("GET", "/rest/v1/customobjects/dynamicsProject_c/describe.json", f"{name}/describe.json")
    call(
        "POST",
        "/rest/v1/customobjects/dynamicsProject_c/delete.json",
        f"{name}/delete.json",
        json={"input": [{"projectId": "p1"}]},
    )
    imported = call(
        "POST",
        "/bulk/v1/leads.json",
        params={"format": "csv"},
        files={"file": ("p.csv", b"email,firstName\nbulk@example.com,Bulk\n", "text/csv")},
    )
    batch_id = imported["result"][0]["batchId"]
    call("GET", f"/bulk/v1/leads/batch/{batch_id}.json", "/bulk/v1/leads/batch/{batchId}.json")
    window = {"createdAt": {"startAt": "2020-01-01T00:00:00Z", "endAt": "2020-01-20T00:00:00Z"}}
    export = call(
        "POST", "/bulk/v1/leads/export/create.json", json={"fields": ["email"], "format": "CSV", "filter": window}
    )
    export_id = export["result"][0]["exportId"]
    call("POST", f"/bulk/v1/leads/export/{export_id}/enqueue.json", "/bulk/v1/leads/export/{exportId}/enqueue.json")
    call("GET", f"/bulk/v1/leads/export/{export_id}/status.json", "/bulk/v1/leads/export/{exportId}/status.json")
    call("GET", "/bulk/v1/leads/export.json", params={"status": "created,queued"})
    call("GET", "/rest/v1/activities/types.json")
    activities = call(
        "POST", "/bulk/v1/activities/export/create.json", json={"filter": {**window, "activityTypeIds": [12]}}
    )
    activity_export = activities["result"][0]["exportId"]
    for verb in ("enqueue", "cancel"):
        call(
            "POST",
            f"/bulk/v1/activities/export/{activity_export}/{verb}.json",
            f"/bulk/v1/activities/export/{{exportId}}/{verb}.json",
        )
    call(
        "GET",
        f"/bulk/v1/activities/export/{activity_export}/status.json",
        "/bulk/v1/activities/export/{exportId}/status.json",
    )
    call("GET", "/bulk/v1/activities/export.json", params={"status": "cancelled"})

    problems = [
        f"{method.upper()} {path}: {error.message} at {list(error.absolute_path)}"
        for path, method, body in call.seen
        for error in _validator(mapi, path, method).iter_errors(body)
    ]
    assert problems == [], "\n".join(problems)
    assert len(call.seen) >= 40


def test_marketorestpython_works_unchanged_against_the_emulator(
    marketo: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketorestpython.client import MarketoClient as ThirdPartyClient

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", marketo.info["ca_file"])  # how that library is told to trust a CA
    client = ThirdPartyClient("123-ABC-456", marketo.info["client_id"], marketo.info["client_secret"])
    client.host = marketo.url
    created = client.execute(
        method="create_update_leads",
        leads=[
            {"email": "ada@example.com", "firstName": "Ada"},
            {"email": "grace@example.com", "firstName": "Grace"},
        ],
        action="createOrUpdate",
        lookupField="email",
    )
    assert [r["status"] for r in created] == ["created", "created"]
    found = client.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="email",
        filterValues=["ada@example.com"],
        fields=["email", "firstName"],
    )
    assert [(r["email"], r["firstName"]) for r in found] == [("ada@example.com", "Ada")]
    token = client.execute(method="get_paging_token", sinceDatetime="2020-01-01T00:00:00Z")
    changes = client.execute(method="get_lead_changes", fields=["firstName"], nextPageToken=token)
    assert [c["activityTypeId"] for c in changes] == [12, 12]
    assert client.execute(method="describe2")[0]["name"] == "API Lead"
    assert client.execute(method="delete_lead", id=[created[0]["id"]])[0]["status"] == "deleted"
    companies = client.execute(method="create_update_companies", input=[{"externalCompanyId": "c1", "company": "X"}])
    assert companies[0]["status"] == "created"
    assert client.execute(method="get_daily_usage")[0]["total"] >= 6
    today = control(marketo, "GET", "clock")["now"][:10]
    window = {"createdAt": {"startAt": f"{today}T00:00:00Z", "endAt": f"{today}T23:59:59Z"}}
    job = client.execute(method="create_activities_export_job", filters={**window, "activityTypeIds": [12]})[0]
    client.execute(method="enqueue_activities_export_job", job_id=job["exportId"])
    for _ in range(2):
        control(marketo, "POST", "clock", {"advance_seconds": 60})
        status = client.execute(method="get_activities_export_job_status", job_id=job["exportId"])[0]
    assert status["status"] == "Completed" and status["numberOfRecords"] == 2
    extracted = client.execute(method="get_activities_export_job_file", job_id=job["exportId"])
    assert extracted.decode().splitlines()[0].startswith("marketoGUID,leadId,activityDate,activityTypeId")
    listed = client.execute(method="get_activities_export_jobs_list")
    assert [j["exportId"] for j in listed] == [job["exportId"]]


def _token(emulator: RunningEmulator) -> dict[str, Any]:
    return dict(
        requests.get(
            f"{emulator.url}/identity/oauth/token",
            verify=emulator.info["ca_file"],
            timeout=10,
            params={
                "grant_type": "client_credentials",
                "client_id": emulator.info["client_id"],
                "client_secret": emulator.info["client_secret"],
            },
        ).json()
    )


def _leads(emulator: RunningEmulator, token: str) -> dict[str, Any]:
    return dict(
        requests.get(
            f"{emulator.url}/rest/v1/leads.json",
            verify=emulator.info["ca_file"],
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
            params={"filterType": "email", "filterValues": "a@example.com"},
        ).json()
    )


def test_the_same_token_comes_back_until_it_expires_then_602(marketo: RunningEmulator) -> None:
    first, second = _token(marketo), _token(marketo)
    assert first["access_token"] == second["access_token"]
    assert second["expires_in"] <= first["expires_in"]
    control(marketo, "POST", "clock", {"advance_seconds": 3600})
    assert _leads(marketo, first["access_token"])["errors"] == [{"code": "602", "message": "Access token expired"}]
    assert _token(marketo)["access_token"] != first["access_token"]
    assert _leads(marketo, "made-up")["errors"][0]["code"] == "601"


def test_bad_client_credentials_get_http_401_with_the_identity_error_body(marketo: RunningEmulator) -> None:
    response = requests.get(
        f"{marketo.url}/identity/oauth/token",
        verify=marketo.info["ca_file"],
        timeout=10,
        params={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_the_101st_call_in_the_window_gets_606_and_errors_do_not_count(
    start_marketo: Callable[..., Any],
) -> None:
    emulator = start_marketo(calls=5, window_s=60)
    token = _token(emulator)["access_token"]
    answers = [_leads(emulator, token) for _ in range(7)]
    assert [a["success"] for a in answers] == [True] * 5 + [False, False]
    assert answers[5]["errors"] == [{"code": "606", "message": "Max rate limit '5' exceeded with in '60' secs"}]
    usage = requests.get(f"{emulator.url}/_emulator/stats", verify=emulator.info["ca_file"], timeout=10).json()
    assert usage["throttled"] == 2
    assert emulator.service.limits.daily[emulator.service.limits.today()] == 5


def test_the_11th_concurrent_call_gets_615(start_marketo: Callable[..., Any]) -> None:
    emulator = start_marketo(concurrency=3)
    fault(emulator, path="/rest/v1/leads.json", delay_s=0.5)
    token = _token(emulator)["access_token"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _leads(emulator, token), range(6)))
    codes = sorted(a["errors"][0]["code"] for a in answers if not a["success"])
    assert codes == ["615", "615", "615"]


def test_the_daily_quota_gives_607_until_midnight_us_central(start_marketo: Callable[..., Any]) -> None:
    emulator = start_marketo(daily_quota=2)
    token = _token(emulator)["access_token"]
    assert [_leads(emulator, token)["success"] for _ in range(3)] == [True, True, False]
    assert _leads(emulator, token)["errors"][0]["code"] == "607"
    control(emulator, "POST", "clock", {"advance_seconds": 24 * 3600})
    assert _leads(emulator, _token(emulator)["access_token"])["success"]


def test_bodies_over_one_megabyte_get_http_413(marketo: RunningEmulator) -> None:
    token = _token(marketo)["access_token"]
    response = requests.post(
        f"{marketo.url}/rest/v1/leads.json",
        verify=marketo.info["ca_file"],
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        json={"input": [{"email": "a@example.com", "lastName": "x" * 1_100_000}]},
    )
    assert response.status_code == 413


def test_more_than_300_records_is_refused_as_a_whole(marketo: RunningEmulator) -> None:
    token = _token(marketo)["access_token"]
    body = _push(marketo, token, [{"email": f"p{i}@example.com"} for i in range(301)])
    assert body["success"] is False
    assert body["errors"][0]["code"] == "1003"


def test_control_api_seeds_counts_and_refuses_bad_fault_rules(marketo: RunningEmulator) -> None:
    assert control(marketo, "POST", "seed", {"counts": {"lead": 50, "company": 5}, "seed": 7})["seeded"] == {
        "lead": 50,
        "company": 5,
    }
    assert control(marketo, "GET", "data/lead")["count"] == 50
    assert control(marketo, "GET", "data/company")["count"] == 5
    bad = requests.post(
        f"{marketo.url}/_emulator/faults",
        json={"path": "(", "status": 500},
        verify=marketo.info["ca_file"],
        timeout=10,
    )
    assert bad.status_code == 400
    assert "not a regular expression" in bad.json()["error"]
    control(marketo, "POST", "reset")
    assert control(marketo, "GET", "data/lead")["count"] == 0


def _push(emulator: RunningEmulator, token: str, records: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return dict(
        requests.post(
            f"{emulator.url}/rest/v1/leads.json",
            verify=emulator.info["ca_file"],
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
            json={"input": records, **options},
        ).json()
    )


def test_every_push_action_follows_marketos_rules(marketo: RunningEmulator) -> None:
    token = _token(marketo)["access_token"]
    first = _push(marketo, token, [{"email": "ada@example.com"}], action="createOnly")["result"][0]
    assert first["status"] == "created"
    again = _push(marketo, token, [{"email": "ada@example.com"}], action="createOnly")["result"][0]
    assert again["reasons"][0] == {"code": "1005", "message": "Lead already exists"}
    missing = _push(marketo, token, [{"email": "nobody@example.com"}], action="updateOnly")["result"][0]
    assert missing["reasons"][0] == {"code": "1004", "message": "Lead not found"}
    duplicate = _push(marketo, token, [{"email": "ada@example.com"}], action="createDuplicate")["result"][0]
    assert duplicate["status"] == "created" and duplicate["id"] != first["id"]
    ambiguous = _push(marketo, token, [{"email": "ada@example.com", "firstName": "A"}])["result"][0]
    assert ambiguous["reasons"][0] == {"code": "1007", "message": "Multiple lead match lookup criteria"}
    by_id = _push(marketo, token, [{"id": first["id"], "firstName": "Ada"}], action="updateOnly", lookupField="id")
    assert by_id["result"][0] == {"id": first["id"], "status": "updated"}
    twice = _push(marketo, token, [{"email": "x@example.com"}, {"email": "X@example.com"}])["result"]
    assert [r["status"] for r in twice] == ["created", "skipped"]
    assert twice[1]["reasons"][0]["code"] == "1036"


def test_a_person_query_pages_with_next_page_tokens(marketo: RunningEmulator) -> None:
    token = _token(marketo)["access_token"]
    _push(marketo, token, [{"email": f"p{n}@example.com"} for n in range(5)])
    params = {"filterType": "email", "filterValues": ",".join(f"p{n}@example.com" for n in range(5)), "batchSize": "2"}
    seen: list[str] = []
    while True:
        page = requests.get(
            f"{marketo.url}/rest/v1/leads.json",
            verify=marketo.info["ca_file"],
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
            params=params,
        ).json()
        seen += [r["email"] for r in page["result"]]
        if not page.get("nextPageToken"):
            break
        params["nextPageToken"] = page["nextPageToken"]
    assert seen == [f"p{n}@example.com" for n in range(5)]
