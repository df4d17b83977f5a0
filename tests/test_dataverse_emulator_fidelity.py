"""Parts of the Dataverse Web API that metadata readers (Airbyte's source among them) call:
EntityDefinitions as a collection with `$expand=Attributes(...)`, every documented EntityMetadata
property selectable (CanChangeTrackingBeEnabled included), an unknown one refused."""

from __future__ import annotations

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
