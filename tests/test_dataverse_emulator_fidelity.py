"""Parts of the Dataverse Web API that metadata readers (Airbyte's source among them) call:
EntityDefinitions as a collection with `$expand=Attributes(...)`, every documented EntityMetadata
property selectable (CanChangeTrackingBeEnabled included), an unknown one refused, a derived
attribute type's properties only through its cast, DateTime formats, the CSDL `$metadata`
document, and Entra ID's endpoints as clients other than MSAL call them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from emulators.dataverse import csdl
from emulators.dataverse.catalogue import Column, TableDef
from emulators.launch import RunningEmulator
from tests.emulator_support import control
from tests.test_dataverse_emulator import Raw


def test_the_entity_definitions_collection_expands_every_tables_attributes(dataverse: RunningEmulator) -> None:
    raw = Raw(dataverse)
    found = raw(
        "GET",
        "EntityDefinitions?$select=LogicalName,CanChangeTrackingBeEnabled,ChangeTrackingEnabled"
        "&$expand=Attributes($select=LogicalName,AttributeType)",
    )
    assert found.status_code == 200, found.text
    tables = {e["LogicalName"]: e for e in found.json()["value"]}
    assert {"contact", "lead", "account"} <= set(tables)
    contact = tables["contact"]
    assert contact["CanChangeTrackingBeEnabled"]["Value"] is True and contact["ChangeTrackingEnabled"] is True
    columns = {a["LogicalName"]: a["AttributeType"] for a in contact["Attributes"]}
    assert columns["contactid"] == "Uniqueidentifier" and columns["modifiedon"] == "DateTime"
    assert set(contact) == {
        "LogicalName",
        "CanChangeTrackingBeEnabled",
        "ChangeTrackingEnabled",
        "MetadataId",
        "Attributes",
    }


def test_a_documented_property_is_served_and_an_unknown_one_refused(dataverse: RunningEmulator) -> None:
    raw = Raw(dataverse)
    served = raw("GET", "EntityDefinitions(LogicalName='contact')?$select=IconVectorName,OwnershipType").json()
    assert served["OwnershipType"] == "UserOwned" and "IconVectorName" in served
    refused = raw("GET", "EntityDefinitions?$select=LogicalName,NoSuchProperty")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Could not find a property named 'NoSuchProperty' on type 'Microsoft.Dynamics.CRM.EntityMetadata'."
    )


def test_an_activitys_regarding_lookup_binds_through_navigation_properties_named_after_the_activity(
    dataverse: RunningEmulator,
) -> None:
    raw = Raw(dataverse)
    contact = raw("POST", "contacts", json={"lastname": "Regarded"}).headers["OData-EntityId"].rsplit("(", 1)[1][:-1]
    wrong = raw("POST", "tasks", json={"subject": "x", "regardingobjectid_contact@odata.bind": f"/contacts({contact})"})
    assert (
        wrong.status_code == 400
        and "undeclared property 'regardingobjectid_contact'" in wrong.json()["error"]["message"]
    )
    right = raw(
        "POST", "tasks", json={"subject": "x", "regardingobjectid_contact_task@odata.bind": f"/contacts({contact})"}
    )
    assert right.status_code == 204
    metadata = raw("GET", "$metadata", headers={"Accept": "application/xml"}).text
    assert 'NavigationProperty Name="regardingobjectid_contact_task"' in metadata


def test_datetime_attributes_say_whether_they_are_dates_or_timestamps(dataverse: RunningEmulator) -> None:
    raw = Raw(dataverse)
    found = raw(
        "GET",
        "EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata"
        "?$select=LogicalName,Format,DateTimeBehavior",
    ).json()["value"]
    shown = {a["LogicalName"]: (a["Format"], a["DateTimeBehavior"]["Value"]) for a in found}
    assert shown["estimatedclosedate"] == ("DateOnly", "UserLocal")
    assert shown["modifiedon"] == ("DateAndTime", "UserLocal")


def test_the_v1_token_endpoint_issues_a_token_for_the_org_as_resource(dataverse: RunningEmulator) -> None:
    info = dataverse.info
    form = {"grant_type": "client_credentials", "client_id": info["client_id"], "client_secret": info["client_secret"]}
    url = f"{info['url']}/{info['tenant_id']}/oauth2/token"
    issued = requests.post(url, data={**form, "resource": info["url"]}, verify=info["ca_file"], timeout=10)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert isinstance(body["expires_in"], str) and body["resource"] == info["url"]
    answered = requests.get(
        f"{info['api']}WhoAmI",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        verify=info["ca_file"],
        timeout=10,
    )
    assert answered.status_code == 200 and answered.json()["UserId"]
    missing = requests.post(url, data=form, verify=info["ca_file"], timeout=10)
    assert missing.status_code == 400 and missing.json()["error_codes"] == [900144]


def test_identity_paths_answer_as_entra_not_as_dataverse(dataverse: RunningEmulator) -> None:
    info = dataverse.info
    wrong_method = requests.get(
        f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token", verify=info["ca_file"], timeout=10
    )
    assert wrong_method.status_code == 400 and wrong_method.json()["error_codes"] == [900561]
    unknown = requests.get(f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/nothing", verify=info["ca_file"], timeout=10)
    assert unknown.status_code == 404 and "error" not in unknown.text.lower()[:1]
    assert not unknown.headers["Content-Type"].startswith("application/json")


def test_a_derived_attribute_property_is_selectable_only_through_its_type_cast(dataverse: RunningEmulator) -> None:
    raw = Raw(dataverse)
    uncast = raw("GET", "EntityDefinitions(LogicalName='contact')?$expand=Attributes($select=LogicalName,MaxLength)")
    assert uncast.status_code == 400
    assert uncast.json()["error"]["message"] == (
        "Could not find a property named 'MaxLength' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'."
    )
    assert raw("GET", "EntityDefinitions(LogicalName='contact')/Attributes?$select=Targets").status_code == 400
    strings = raw(
        "GET",
        "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata"
        "?$select=LogicalName,MaxLength",
    )
    assert strings.status_code == 200, strings.text
    assert {a["LogicalName"]: a["MaxLength"] for a in strings.json()["value"]}["firstname"] == 50
    lookups = raw(
        "GET",
        "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata"
        "?$select=LogicalName,Targets",
    ).json()["value"]
    assert {a["LogicalName"]: set(a["Targets"]) for a in lookups}["parentcustomerid"] == {"account", "contact"}
    wrong_cast = raw(
        "GET",
        "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata"
        "?$select=MaxLength",
    )
    assert wrong_cast.status_code == 400 and "LookupAttributeMetadata" in wrong_cast.json()["error"]["message"]


def test_the_csdl_document_describes_every_entity_set_with_its_key_properties_and_lookups(
    dataverse: RunningEmulator,
) -> None:
    raw = Raw(dataverse)
    service = raw("GET", "").json()
    assert service["@odata.context"].endswith("/api/data/v9.2/$metadata")
    document = raw("GET", "$metadata")
    assert document.status_code == 200 and document.headers["Content-Type"].startswith("application/xml")
    edm = "{http://docs.oasis-open.org/odata/ns/edm}"
    root = ElementTree.fromstring(document.content)  # noqa: S314 - the emulator's own document
    schema = root.find(f"{{http://docs.oasis-open.org/odata/ns/edmx}}DataServices/{edm}Schema")
    assert schema is not None and schema.get("Namespace") == "Microsoft.Dynamics.CRM" and schema.get("Alias") == "mscrm"
    types = {t.get("Name"): t for t in schema.iter(f"{edm}EntityType")}
    assert types["crmbaseentity"].get("Abstract") == "true"
    sets = {s.get("Name"): s.get("EntityType") for s in schema.iter(f"{edm}EntitySet")}
    assert set(sets) == {entry["name"] for entry in service["value"]}
    contact = types["contact"]
    assert contact.get("BaseType") == "mscrm.crmbaseentity"
    key = contact.find(f"{edm}Key/{edm}PropertyRef")
    assert key is not None and key.get("Name") == "contactid"
    properties = {p.get("Name"): p.get("Type") for p in contact.iter(f"{edm}Property")}
    assert properties["contactid"] == "Edm.Guid" and properties["firstname"] == "Edm.String"
    assert properties["_parentcustomerid_value"] == "Edm.Guid" and properties["modifiedon"] == "Edm.DateTimeOffset"
    assert "parentcustomerid" not in properties  # a lookup is its _value property and navigation properties
    navigations = {n.get("Name"): n.get("Type") for n in contact.iter(f"{edm}NavigationProperty")}
    assert navigations["parentcustomerid_account"] == "mscrm.account"
    # shown as a date (Format DateOnly) but of UserLocal behaviour: still a timestamp on the wire
    opportunity = {p.get("Name"): p.get("Type") for p in types["opportunity"].iter(f"{edm}Property")}
    assert opportunity["estimatedclosedate"] == "Edm.DateTimeOffset"


def test_a_date_only_behaviour_column_is_an_edm_date_in_the_csdl() -> None:
    table = TableDef(
        "new_event",
        "new_events",
        "new_eventid",
        "new_name",
        (Column("new_eventid", "Uniqueidentifier"), Column("new_day", "DateTime", behavior="DateOnly")),
    )
    assert '<Property Name="new_day" Type="Edm.Date" />' in csdl.document([table])


def _app(info: dict[str, Any]) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": info["client_id"], "client_secret": info["client_secret"]}


def _who_am_i(info: dict[str, Any], token: str) -> str:
    answered = requests.get(
        f"{info['api']}WhoAmI", headers={"Authorization": f"Bearer {token}"}, verify=info["ca_file"], timeout=10
    )
    assert answered.status_code == 200, answered.text
    return str(answered.json()["UserId"])


def test_a_delegated_user_signs_in_by_password_and_stays_signed_in_by_refresh_token(
    dataverse: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import msal  # azure-identity's own token library, as a public client keeping a user signed in

    info = dataverse.info
    v2 = f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token"
    user = {"client_id": info["client_id"], "username": info["username"], "password": info["password"]}
    signed_in = requests.post(
        v2,
        data={"grant_type": "password", **user, "scope": f"{info['url']}/.default offline_access"},
        verify=info["ca_file"],
        timeout=10,
    ).json()
    delegated = _who_am_i(info, signed_in["access_token"])
    application = requests.post(
        v2,
        data={**_app(info), "scope": f"{info['url']}/.default"},
        verify=info["ca_file"],
        timeout=10,
    ).json()
    assert delegated != _who_am_i(info, application["access_token"])  # the user, not the application user
    assert "refresh_token" not in application

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_file"])
    app = msal.PublicClientApplication(
        info["client_id"], authority=f"{info['url']}/{info['tenant_id']}", instance_discovery=False
    )
    refreshed = app.acquire_token_by_refresh_token(signed_in["refresh_token"], scopes=[f"{info['url']}/.default"])
    assert _who_am_i(info, refreshed["access_token"]) == delegated
    [account] = app.get_accounts()
    assert account["username"] == info["username"]
    again = app.acquire_token_silent([f"{info['url']}/.default"], account=account, force_refresh=True)
    assert again is not None and _who_am_i(info, again["access_token"]) == delegated

    v1 = requests.post(
        f"{info['url']}/{info['tenant_id']}/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": info["client_id"], "resource": info["url"]}
        | {"refresh_token": signed_in["refresh_token"]},
        verify=info["ca_file"],
        timeout=10,
    ).json()
    assert _who_am_i(info, v1["access_token"]) == delegated and v1["refresh_token"]


def test_a_wrong_password_an_unknown_or_idle_refresh_token_are_refused_as_entra_does(
    dataverse: RunningEmulator,
) -> None:
    info = dataverse.info
    v2 = f"{info['url']}/{info['tenant_id']}/oauth2/v2.0/token"
    scope = {"client_id": info["client_id"], "scope": f"{info['url']}/.default offline_access"}

    def grant(**form: str) -> requests.Response:
        return requests.post(v2, data={**scope, **form}, verify=info["ca_file"], timeout=10)

    wrong = grant(grant_type="password", username=info["username"], password="nope")
    assert wrong.status_code == 400 and wrong.json()["error_codes"] == [50126]
    unknown = grant(grant_type="refresh_token", refresh_token="0.Anot-issued")
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [9002313]
    issued = grant(grant_type="password", username=info["username"], password=info["password"]).json()
    control(dataverse, "POST", "clock", {"advance_seconds": 91 * 24 * 3600})
    idle = grant(grant_type="refresh_token", refresh_token=issued["refresh_token"])
    assert idle.status_code == 400 and idle.json()["error_codes"] == [700082]


def test_the_common_and_organizations_aliases_sign_users_in_but_common_gives_no_app_only_token(
    dataverse: RunningEmulator,
) -> None:
    info = dataverse.info
    writes = control(dataverse, "GET", "stats")["writes"]
    user = {"client_id": info["client_id"], "username": info["username"], "password": info["password"]}

    def token(tenant: str, version: str, **form: str) -> requests.Response:
        path = "oauth2/v2.0/token" if version == "v2" else "oauth2/token"
        target = {"scope": f"{info['url']}/.default"} if version == "v2" else {"resource": info["url"]}
        return requests.post(
            f"{info['url']}/{tenant}/{path}", data={**target, **form}, verify=info["ca_file"], timeout=10
        )

    signed_in = requests.post(
        f"{info['url']}/organizations/oauth2/v2.0/token",
        data={"grant_type": "password", **user, "scope": f"{info['url']}/.default offline_access"},
        verify=info["ca_file"],
        timeout=10,
    ).json()
    for tenant in ("common", "organizations"):
        for version in ("v2", "v1"):
            refreshed = token(
                tenant,
                version,
                grant_type="refresh_token",
                client_id=info["client_id"],
                refresh_token=signed_in["refresh_token"],
            )
            assert refreshed.status_code == 200, (tenant, version, refreshed.text)
    assert token("organizations", "v2", **_app(info)).status_code == 200
    for version in ("v2", "v1"):
        app_only = token("common", version, **_app(info))
        assert app_only.status_code == 400 and app_only.json()["error_codes"] == [9001023]
    assert token("elsewhere", "v2", **_app(info)).json()["error_codes"] == [90002]
    assert control(dataverse, "GET", "stats")["writes"] == writes  # a sign-in writes no data


def test_seeded_rows_were_created_over_years_and_modified_since(dataverse: RunningEmulator) -> None:
    control(dataverse, "POST", "seed", {"counts": {"account": 5, "contact": 200}})
    rows = control(dataverse, "GET", "data/contact")["rows"]
    created = sorted(datetime.fromisoformat(r["createdon"]) for r in rows)
    assert (created[-1] - created[0]).days > 365 and len(set(created)) == len(rows)
    assert all(r["modifiedon"] >= r["createdon"] for r in rows)
    recent = Raw(dataverse)("GET", f"contacts?$filter=modifiedon gt {created[len(created) // 2]:%Y-%m-%dT%H:%M:%SZ}")
    assert 0 < len(recent.json()["value"]) < len(rows)  # a timestamp cursor finds some, not all
