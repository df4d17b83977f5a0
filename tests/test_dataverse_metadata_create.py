"""The Dataverse emulator customized through the Web API's metadata endpoints
(../shared/reference/dataverse-metadata-create.md): columns and custom activity tables created
with the documented bodies (204 + OData-EntityId), alternate keys whose index is built
asynchronously before they address rows, publishing, and bad definitions refused with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.launch import RunningEmulator
from tests.emulator_support import control, wait_for
from tests.test_dataverse_emulator import Raw

LABEL = {"LocalizedLabels": [{"Label": "Lead Score", "LanguageCode": 1033}]}
REQUIRED = {"Value": "None", "CanBeChanged": True, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"}


def _integer(schema: str) -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
        "AttributeType": "Integer",
        "AttributeTypeName": {"Value": "IntegerType"},
        "SchemaName": schema,
        "MinValue": 0,
        "MaxValue": 100000,
        "Format": "None",
        "RequiredLevel": REQUIRED,
        "DisplayName": LABEL,
    }


def _activity_table(schema: str) -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": schema,
        "DisplayName": {"LocalizedLabels": [{"Label": "Marketo Activity", "LanguageCode": 1033}]},
        "DisplayCollectionName": {"LocalizedLabels": [{"Label": "Marketo Activities", "LanguageCode": 1033}]},
        "OwnershipType": "UserOwned",
        "IsActivity": True,
        "HasActivities": False,
        "HasNotes": True,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "AttributeType": "String",
                "AttributeTypeName": {"Value": "StringType"},
                "SchemaName": "Subject",
                "IsPrimaryName": True,
                "MaxLength": 200,
                "FormatName": {"Value": "Text"},
                "RequiredLevel": REQUIRED,
                "DisplayName": {"LocalizedLabels": [{"Label": "Subject", "LanguageCode": 1033}]},
            }
        ],
    }


@pytest.fixture
def raw(dataverse: RunningEmulator) -> Raw:
    return Raw(dataverse)


def test_a_column_created_on_contact_is_described_written_and_read(raw: Raw) -> None:
    made = raw.session.post(
        f"{raw.api}/EntityDefinitions(LogicalName='contact')/Attributes",
        json=_integer("mkto_LeadScore"),
        headers={"MSCRM.SolutionUniqueName": "MarketoSync"},
    )
    assert (
        made.status_code == 204
        and "/EntityDefinitions(LogicalName='contact')/Attributes(" in made.headers["OData-EntityId"]
    )
    described = raw.session.get(
        f"{raw.api}/EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='mkto_leadscore')"
    )
    assert described.json()["AttributeType"] == "Integer"
    contact = raw.session.post(f"{raw.api}/contacts", json={"lastname": "Scored", "mkto_leadscore": 42})
    assert contact.status_code == 204
    again = raw.session.post(
        f"{raw.api}/EntityDefinitions(LogicalName='contact')/Attributes", json=_integer("mkto_LeadScore")
    )
    assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]


def test_a_custom_activity_table_has_subject_regarding_and_the_activity_columns(raw: Raw) -> None:
    made = raw.session.post(f"{raw.api}/EntityDefinitions", json=_activity_table("mkto_MarketoActivity"))
    assert made.status_code == 204, made.text
    table = raw.session.get(
        f"{raw.api}/EntityDefinitions(LogicalName='mkto_marketoactivity')",
        params={"$select": "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,IsActivity,SchemaName"},
    ).json()
    assert (
        table["IsActivity"]
        and table["PrimaryIdAttribute"] == "activityid"
        and table["PrimaryNameAttribute"] == "subject"
    )
    assert table["EntitySetName"] == "mkto_marketoactivities" and table["SchemaName"] == "mkto_MarketoActivity"
    lead = raw.session.post(
        f"{raw.api}/leads", json={"lastname": "Engaged"}, headers={"Prefer": "return=representation"}
    )
    lead_id = lead.json()["leadid"]
    row = raw.session.post(
        f"{raw.api}/mkto_marketoactivities",
        json={
            "subject": "Opened an email",
            "regardingobjectid_lead_mkto_marketoactivity@odata.bind": f"/leads({lead_id})",
        },
    )
    assert row.status_code == 204, row.text
    wrong = raw.session.post(
        f"{raw.api}/mkto_marketoactivities",
        json={"subject": "x", "regardingobjectid_lead@odata.bind": f"/leads({lead_id})"},
    )
    assert wrong.status_code == 400  # the navigation property is named after the activity table too


def test_an_alternate_key_addresses_rows_only_once_its_index_is_active(raw: Raw, dataverse: RunningEmulator) -> None:
    control(dataverse, "POST", "key-index", {"seconds": 1.0})
    raw.session.post(f"{raw.api}/EntityDefinitions", json=_activity_table("mkto_MarketoActivity"))
    column = {**_integer("mkto_ActivityKey"), "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata"}
    column.update(AttributeType="String", AttributeTypeName={"Value": "StringType"}, MaxLength=100)
    assert raw.session.post(
        f"{raw.api}/EntityDefinitions(LogicalName='mkto_marketoactivity')/Attributes", json=column
    ).ok
    key = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityKeyMetadata",
        "SchemaName": "mkto_ActivityKeyIndex",
        "DisplayName": LABEL,
        "KeyAttributes": ["mkto_activitykey"],
    }
    assert (
        raw.session.post(f"{raw.api}/EntityDefinitions(LogicalName='mkto_marketoactivity')/Keys", json=key).status_code
        == 204
    )
    keys_url = f"{raw.api}/EntityDefinitions(LogicalName='mkto_marketoactivity')/Keys"
    assert raw.session.get(keys_url).json()["value"][0]["EntityKeyIndexStatus"] == "Pending"
    early = raw.session.patch(f"{raw.api}/mkto_marketoactivities(mkto_activitykey='a-1')", json={"subject": "x"})
    assert early.status_code == 400 and "Pending" in early.json()["error"]["message"]
    wait_for(
        lambda: raw.session.get(keys_url).json()["value"][0]["EntityKeyIndexStatus"],
        lambda s: s == "Active",
        what="index",
    )
    for _ in range(2):  # an upsert by key, twice: one row
        assert raw.session.patch(
            f"{raw.api}/mkto_marketoactivities(mkto_activitykey='a-1')", json={"subject": "Opened"}
        ).ok
    rows = control(dataverse, "GET", "data/mkto_marketoactivity")["rows"]
    assert [(r["mkto_activitykey"], r["subject"]) for r in rows] == [("a-1", "Opened")]
    assert (
        raw.session.post(f"{raw.api}/EntityDefinitions(LogicalName='mkto_marketoactivity')/Keys", json=key).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SchemaName": "LeadScore"}, "publisher prefix"),
        ({"@odata.type": "Microsoft.Dynamics.CRM.ImageAttributeMetadata"}, "cannot be created"),
        ({"DisplayName": {}}, "DisplayName"),
    ],
)
def test_a_bad_column_definition_is_refused_naming_the_problem(raw: Raw, change: dict[str, Any], named: str) -> None:
    refused = raw.session.post(
        f"{raw.api}/EntityDefinitions(LogicalName='lead')/Attributes", json={**_integer("mkto_X"), **change}
    )
    assert refused.status_code == 400 and named in refused.json()["error"]["message"]


def test_an_activity_table_must_have_subject_as_its_primary_column(raw: Raw) -> None:
    body = _activity_table("mkto_Other")
    body["Attributes"][0]["SchemaName"] = "mkto_Name"
    refused = raw.session.post(f"{raw.api}/EntityDefinitions", json=body)
    assert refused.status_code == 400 and "Subject" in refused.json()["error"]["message"]


def test_publishing_takes_the_documented_parameter_xml(raw: Raw) -> None:
    xml = "<importexportxml><entities><entity>contact</entity></entities></importexportxml>"
    assert raw.session.post(f"{raw.api}/PublishXml", json={"ParameterXml": xml}).status_code == 204
    assert raw.session.post(f"{raw.api}/PublishXml", json={}).status_code == 400
    assert raw.session.post(f"{raw.api}/PublishAllXml").status_code == 204
