"""The Dataverse emulator itself: Microsoft's own SDK unchanged, and the Web API's wire format,
conditions, $batch semantics, metadata and errors as a raw client sees them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from azure.identity import ClientSecretCredential

from emulators.launch import RunningEmulator
from tests.emulator_support import control, fault

API = "/api/data/v9.2/"


class Raw:
    """A bare HTTPS client with a token from the emulator's Entra ID endpoint."""

    def __init__(self, emulator: RunningEmulator) -> None:
        info = emulator.info
        self.api = info["api"]
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = info["ca_file"]
        token = self.session.post(
            f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token",
            timeout=10,
            data={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
                "scope": f"{info['url']}/.default",
            },
        ).json()["access_token"]
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
            }
        )

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.api}{path}", timeout=10, **kwargs)


@pytest.fixture
def raw(dataverse: RunningEmulator) -> Raw:
    return Raw(dataverse)


@pytest.fixture
def sdk(dataverse: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    from PowerPlatform.Dataverse.client import DataverseClient

    info = dataverse.info
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_file"])  # how a requests-based SDK is told to trust a CA
    credential = ClientSecretCredential(
        info["tenant_id"],
        info["client_id"],
        info["client_secret"],
        authority=info["authority"],
        disable_instance_discovery=True,
        connection_verify=info["ca_file"],
    )
    return DataverseClient(info["url"], credential)


def test_microsofts_python_sdk_creates_reads_updates_pages_and_deletes_unchanged(
    sdk: Any, dataverse: RunningEmulator
) -> None:
    account_id = sdk.records.create("account", {"name": "Contoso", "numberofemployees": 250})
    assert sdk.records.retrieve("account", account_id, select=["name"])["name"] == "Contoso"
    sdk.records.update("account", account_id, {"name": "Contoso Ltd", "industrycode": "Software"})  # label → option
    fetched = sdk.records.retrieve("account", account_id, select=["name", "industrycode"])
    assert (fetched["name"], fetched["industrycode"]) == ("Contoso Ltd", 37)
    ids = sdk.records.create("contact", [{"firstname": f"P{n}", "lastname": "Sdk"} for n in range(7)])
    assert len(ids) == 7
    pages = list(sdk.records.list_pages("contact", select=["firstname"], filter="lastname eq 'Sdk'", page_size=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    sdk.records.delete("account", account_id)
    assert control(dataverse, "GET", "data/account")["count"] == 0


def test_a_create_answers_204_with_the_entity_id_or_201_with_the_representation(raw: Raw) -> None:
    created = raw("POST", "contacts", json={"firstname": "Ada", "lastname": "Lovelace"})
    assert created.status_code == 204
    assert created.headers["OData-EntityId"].startswith(f"{raw.api}contacts(")
    represented = raw(
        "POST",
        "contacts?$select=fullname",
        json={"firstname": "Grace", "lastname": "Hopper"},
        headers={"Prefer": "return=representation"},
    )
    assert represented.status_code == 201
    assert represented.json()["fullname"] == "Grace Hopper"
    assert represented.json()["@odata.etag"].startswith('W/"')
    caller = raw("GET", "WhoAmI").json()["UserId"]
    who = raw("GET", f"contacts({represented.json()['contactid']})?$select=_modifiedby_value,_createdby_value").json()
    assert who["_modifiedby_value"] == who["_createdby_value"] == caller


def test_conditional_writes_answer_with_the_real_404_and_412_bodies(raw: Raw) -> None:
    missing = "00000000-0000-4000-8000-000000000001"
    update_only = raw("PATCH", f"contacts({missing})", json={"firstname": "x"}, headers={"If-Match": "*"})
    assert update_only.status_code == 404
    assert update_only.json()["error"] == {
        "code": "0x80040217",
        "message": f"contact With Id = {missing} Does Not Exist",
    }
    assert raw("PATCH", f"contacts({missing})", json={"firstname": "x"}).status_code == 204  # upsert creates
    create_only = raw("PATCH", f"contacts({missing})", json={"firstname": "y"}, headers={"If-None-Match": "*"})
    assert create_only.status_code == 412
    row = raw("GET", f"contacts({missing})?$select=firstname").json()
    stale = raw("PATCH", f"contacts({missing})", json={"firstname": "z"}, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    fresh = raw("PATCH", f"contacts({missing})", json={"firstname": "z"}, headers={"If-Match": row["@odata.etag"]})
    assert fresh.status_code == 204
    assert raw("DELETE", f"contacts({missing})").status_code == 204
    assert raw("DELETE", f"contacts({missing})").status_code == 404


def test_queries_filter_select_order_count_and_page_with_skiptoken_links(raw: Raw, dataverse: RunningEmulator) -> None:
    control(dataverse, "POST", "seed", {"counts": {"account": 12}, "seed": 3})
    query = (
        "accounts?$select=name,numberofemployees&$filter=numberofemployees gt 100 and not startswith(name,'zzz')"
        "&$orderby=numberofemployees desc&$count=true"
    )
    first = raw("GET", query, headers={"Prefer": "odata.maxpagesize=5"}).json()
    expected = sorted(
        (r for r in control(dataverse, "GET", "data/account")["rows"] if r["numberofemployees"] > 100),
        key=lambda r: -r["numberofemployees"],
    )
    assert first["@odata.count"] == len(expected)
    rows = list(first["value"])
    link = first.get("@odata.nextLink")
    while link:
        assert "$skiptoken=" in link
        page = raw.session.get(link, headers={"Prefer": "odata.maxpagesize=5"}, timeout=10).json()
        rows += page["value"]
        link = page.get("@odata.nextLink")
    assert [r["numberofemployees"] for r in rows] == [r["numberofemployees"] for r in expected]
    assert set(rows[0]) == {"@odata.etag", "name", "numberofemployees", "accountid"}


def test_lookups_bind_and_come_back_with_annotations_when_asked(raw: Raw) -> None:
    account = raw("POST", "accounts", json={"name": "Contoso"}).headers["OData-EntityId"].split("(")[1][:-1]
    contact = (
        raw(
            "POST",
            "contacts",
            json={
                "lastname": "Ng",
                "parentcustomerid_account@odata.bind": f"/accounts({account})",
                "donotbulkemail": True,
            },
        )
        .headers["OData-EntityId"]
        .split("(")[1][:-1]
    )
    plain = raw("GET", f"contacts({contact})?$select=_parentcustomerid_value,donotbulkemail").json()
    assert plain["_parentcustomerid_value"] == account
    assert "_parentcustomerid_value@OData.Community.Display.V1.FormattedValue" not in plain
    annotated = raw(
        "GET",
        f"contacts({contact})?$select=_parentcustomerid_value,donotbulkemail",
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert annotated["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == "Contoso"
    assert annotated["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert annotated["donotbulkemail@OData.Community.Display.V1.FormattedValue"] == "Yes"


def test_bad_input_gets_a_400_that_names_the_problem(raw: Raw) -> None:
    unknown = raw("POST", "contacts", json={"favouritecolour": "blue"})
    assert unknown.status_code == 400
    assert (
        "The property 'favouritecolour' does not exist on type 'Microsoft.Dynamics.CRM.contact'"
        in unknown.json()["error"]["message"]
    )
    wrong_type = raw("POST", "accounts", json={"numberofemployees": "many"})
    assert "Cannot convert the literal 'many' to the expected type 'Edm.Int32'" in wrong_type.json()["error"]["message"]
    bad_filter = raw("GET", "accounts?$filter=nme eq 'x'")
    assert bad_filter.status_code == 400
    assert "Could not find a property named 'nme'" in bad_filter.json()["error"]["message"]


def test_change_tracking_refuses_filter_and_top_and_is_per_table(raw: Raw) -> None:
    refused = raw(
        "GET", "contacts?$select=fullname&$filter=firstname eq 'x'", headers={"Prefer": "odata.track-changes"}
    )
    assert refused.status_code == 400
    assert (
        refused.json()["error"]["message"]
        == 'The "$filter" query parameter isn\'t supported when Change Tracking is enabled.'
    )
    first = raw("GET", "contacts?$select=fullname", headers={"Prefer": "odata.track-changes"}).json()
    assert "$deltatoken=" in first["@odata.deltaLink"]
    raw("POST", "contacts", json={"lastname": "New"})
    delta = raw.session.get(first["@odata.deltaLink"], timeout=10).json()
    assert delta["@odata.context"].endswith("/$delta")
    assert [r["fullname"] for r in delta["value"]] == ["New"]


def _batch(raw: Raw, parts: list[str], prefer: str | None = None) -> requests.Response:
    body = "".join(f"--batch_1\r\n{p}\r\n" for p in parts) + "--batch_1--\r\n"
    headers = {"Content-Type": "multipart/mixed; boundary=batch_1"} | ({"Prefer": prefer} if prefer else {})
    return raw("POST", "$batch", data=body.encode(), headers=headers)


def _op(method: str, path: str, body: dict[str, Any] | None = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    payload = json.dumps(body) if body is not None else ""
    return f"{head}\r\n{method} {API}{path} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{payload}"


def test_a_batch_change_set_is_atomic_and_content_ids_can_be_referenced(raw: Raw, dataverse: RunningEmulator) -> None:
    child = {"lastname": "Child", "parentcustomerid_account@odata.bind": "$1"}
    changeset = (
        "Content-Type: multipart/mixed; boundary=changeset_1\r\n\r\n"
        f"--changeset_1\r\n{_op('POST', 'accounts', {'name': 'Parent'}, '1')}\r\n"
        f"--changeset_1\r\n{_op('POST', 'contacts', child, '2')}\r\n"
        "--changeset_1--"
    )
    ok = _batch(raw, [changeset])
    assert ok.status_code == 200 and ok.text.count("HTTP/1.1 204") == 2
    contact = control(dataverse, "GET", "data/contact")["rows"][0]
    account = control(dataverse, "GET", "data/account")["rows"][0]
    assert contact["parentcustomerid"] == ["account", account["accountid"]]

    failing = (
        "Content-Type: multipart/mixed; boundary=changeset_2\r\n\r\n"
        f"--changeset_2\r\n{_op('POST', 'accounts', {'name': 'Rolled back'}, '1')}\r\n"
        f"--changeset_2\r\n{_op('POST', 'accounts', {'numberofemployees': 'many'}, '2')}\r\n"
        "--changeset_2--"
    )
    answer = _batch(raw, [failing])
    assert "HTTP/1.1 400" in answer.text
    assert [r["name"] for r in control(dataverse, "GET", "data/account")["rows"]] == ["Parent"]


def test_a_batch_stops_at_the_first_failure_unless_told_to_continue(raw: Raw, dataverse: RunningEmulator) -> None:
    parts = [
        _op("POST", "accounts", {"name": "A"}),
        _op("POST", "accounts", {"bogus": 1}),
        _op("POST", "accounts", {"name": "C"}),
    ]
    stopped = _batch(raw, parts)
    assert stopped.text.count("HTTP/1.1 ") == 2
    assert sorted(r["name"] for r in control(dataverse, "GET", "data/account")["rows"]) == ["A"]
    continued = _batch(raw, parts, prefer="odata.continue-on-error")
    assert continued.text.count("HTTP/1.1 204") == 2 and continued.text.count("HTTP/1.1 400") == 1
    assert sorted(r["name"] for r in control(dataverse, "GET", "data/account")["rows"]) == ["A", "A", "C"]


def test_create_multiple_is_all_or_nothing_on_standard_tables(raw: Raw, dataverse: RunningEmulator) -> None:
    targets = [
        {"name": "One", "@odata.type": "Microsoft.Dynamics.CRM.account"},
        {"numberofemployees": "many", "@odata.type": "Microsoft.Dynamics.CRM.account"},
    ]
    refused = raw("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert refused.status_code == 400
    assert control(dataverse, "GET", "data/account")["count"] == 0
    accepted = raw("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets[:1]})
    assert len(accepted.json()["Ids"]) == 1


def test_metadata_answers_entity_definitions_with_filter_select_and_expand(raw: Raw) -> None:
    found = raw(
        "GET", "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute&$filter=LogicalName eq 'contact'"
    ).json()["value"]
    assert [(e["LogicalName"], e["EntitySetName"], e["PrimaryIdAttribute"]) for e in found] == [
        ("contact", "contacts", "contactid")
    ]
    single = raw(
        "GET",
        "EntityDefinitions(LogicalName='lead')?$select=LogicalName,ChangeTrackingEnabled"
        "&$expand=Attributes($select=LogicalName,AttributeType)",
    ).json()
    assert single["ChangeTrackingEnabled"] is True
    assert {"LogicalName": "statecode", "AttributeType": "State"} in [
        {k: a[k] for k in ("LogicalName", "AttributeType")} for a in single["Attributes"]
    ]


def test_requests_without_a_valid_token_get_401_with_a_bearer_challenge(dataverse: RunningEmulator) -> None:
    response = requests.get(f"{dataverse.info['api']}accounts", verify=dataverse.info["ca_file"], timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_service_protection_answers_429_with_retry_after_and_the_documented_code(start_dataverse: Any) -> None:
    emulator = start_dataverse(requests_per_window=3, window_s=300)
    client = Raw(emulator)
    answers = [client("GET", "accounts") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["code"] == "0x80072322"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 300


def test_too_many_concurrent_requests_from_one_user_get_429_with_the_concurrency_code(start_dataverse: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    emulator = start_dataverse(concurrent=2)
    fault(emulator, path="/api/data/v9.2/accounts", delay_s=0.4)
    client = Raw(emulator)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: client("GET", "accounts"), range(4)))
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 2
    assert {a.json()["error"]["code"] for a in refused} == {"0x80072326"}
