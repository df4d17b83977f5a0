"""Customizing the org through the Web API's metadata endpoints: columns, a custom activity table,
an alternate key, publishing (../shared/reference/dataverse-metadata-create.md).

Each call creates one component in the solution named by `MSCRM.SolutionUniqueName` (none: the
default solution). Metadata operations are "system metadata operations", outside the org's daily
request entitlement. An alternate key's index is built asynchronously: `key_status` reads where
it stands (Pending, InProgress, Active, Failed).
"""

from __future__ import annotations

from typing import Any, Final

from sync.connectors.dataverse.client import DataverseClient

CRM: Final = "Microsoft.Dynamics.CRM."
_KINDS: Final[
    dict[str, tuple[str, str, dict[str, Any]]]
] = {  # AttributeType → (@odata.type, AttributeTypeName, the kind's own properties)
    "String": ("StringAttributeMetadata", "StringType", {"FormatName": {"Value": "Text"}}),
    "Memo": ("MemoAttributeMetadata", "MemoType", {"Format": "TextArea"}),
    "Integer": (
        "IntegerAttributeMetadata",
        "IntegerType",
        {"Format": "None", "MinValue": -2147483648, "MaxValue": 2147483647},
    ),
    "Decimal": (
        "DecimalAttributeMetadata",
        "DecimalType",
        {"Precision": 2, "MinValue": -100000000000, "MaxValue": 100000000000},
    ),
    "DateTime": (
        "DateTimeAttributeMetadata",
        "DateTimeType",
        {"Format": "DateAndTime", "DateTimeBehavior": {"Value": "UserLocal"}},
    ),
}
REQUIRED_LEVEL: Final = {
    "Value": "None",
    "CanBeChanged": True,
    "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
}


def label(text: str) -> dict[str, Any]:
    return {
        "@odata.type": f"{CRM}Label",
        "LocalizedLabels": [{"@odata.type": f"{CRM}LocalizedLabel", "Label": text, "LanguageCode": 1033}],
    }


def column_body(schema_name: str, kind: str, display: str, max_length: int | None = None) -> dict[str, Any]:
    """The AttributeMetadata of one column, in the documented shape."""
    odata_type, type_name, own = _KINDS[kind]
    body: dict[str, Any] = {
        "@odata.type": f"{CRM}{odata_type}",
        "AttributeType": kind,
        "AttributeTypeName": {"Value": type_name},
        "SchemaName": schema_name,
        "RequiredLevel": REQUIRED_LEVEL,
        "DisplayName": label(display),
        "Description": label(f"{display} (Dynamics–Marketo sync)"),
        **own,
    }
    if max_length is not None:
        body["MaxLength"] = max_length
    return body


def activity_table_body(schema_name: str, display: str, plural: str) -> dict[str, Any]:
    """A custom activity table [M3]: user-owned, notes on, its primary column Subject."""
    return {
        "@odata.type": f"{CRM}EntityMetadata",
        "SchemaName": schema_name,
        "DisplayName": label(display),
        "DisplayCollectionName": label(plural),
        "Description": label(f"{plural} from Marketo (Dynamics–Marketo sync)"),
        "OwnershipType": "UserOwned",
        "IsActivity": True,
        "IsAvailableOffline": True,
        "ActivityTypeMask": 1,
        "HasActivities": False,
        "HasNotes": True,
        "Attributes": [{**column_body("Subject", "String", "Subject", 200), "IsPrimaryName": True}],
    }


class Customizations:
    def __init__(self, client: DataverseClient, solution: str | None = None) -> None:
        self.client = client
        self.headers = {"MSCRM.SolutionUniqueName": solution} if solution else {}

    def create_column(self, table: str, body: dict[str, Any]) -> None:
        self.client.request(
            "POST", f"EntityDefinitions(LogicalName='{table}')/Attributes", json=body, headers=self.headers
        )

    def create_table(self, body: dict[str, Any]) -> None:
        self.client.request("POST", "EntityDefinitions", json=body, headers=self.headers)

    def create_key(self, table: str, schema_name: str, columns: list[str], display: str) -> None:
        body = {
            "@odata.type": f"{CRM}EntityKeyMetadata",
            "SchemaName": schema_name,
            "DisplayName": label(display),
            "KeyAttributes": columns,
        }
        self.client.request("POST", f"EntityDefinitions(LogicalName='{table}')/Keys", json=body, headers=self.headers)

    def key_status(self, table: str, columns: list[str]) -> str | None:
        """The index status of the table's key on exactly these columns; None when there is none."""
        body = self.client.get_json(f"EntityDefinitions(LogicalName='{table}')/Keys")
        for key in body.get("value", []):
            if sorted(key.get("KeyAttributes") or []) == sorted(columns):
                return str(key.get("EntityKeyIndexStatus") or "")
        return None

    def publish(self, tables: list[str]) -> None:
        """PublishXml for these tables, so forms and views show the new columns."""
        entities = "".join(f"<entity>{t}</entity>" for t in tables)
        xml = f"<importexportxml><entities>{entities}</entities></importexportxml>"
        self.client.request("POST", "PublishXml", json={"ParameterXml": xml})
