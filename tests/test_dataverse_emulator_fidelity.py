"""Parts of the Dataverse Web API that metadata readers (Airbyte's source among them) call:
EntityDefinitions as a collection with `$expand=Attributes(...)`, every documented EntityMetadata
property selectable (CanChangeTrackingBeEnabled included), an unknown one refused."""

from __future__ import annotations

import requests

from emulators.launch import RunningEmulator
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
