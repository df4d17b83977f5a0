"""Customizing the org through the Web API: tables (custom activity tables included), columns and
alternate keys made with POSTs to EntityDefinitions, and PublishXml / PublishAllXml.

Sources: ../shared/reference/dataverse-metadata-create.md — [M1] create a table (`POST
EntityDefinitions`: SchemaName with a publisher prefix, DisplayName, DisplayCollectionName,
OwnershipType, IsActivity, HasActivities, HasNotes, exactly one primary name StringAttribute);
[M2] create a column (`POST EntityDefinitions(LogicalName='x')/Attributes`, one @odata.type per
kind); both answer 204 with `OData-EntityId`; the header `MSCRM.SolutionUniqueName` names the
solution. [M3] a custom activity's primary column is Subject and it inherits activitypointer's
columns (the regarding lookup among them). [M5] alternate keys: `EntityKeyMetadata` with
KeyAttributes of allowed types, at most 10 a table; the index is built asynchronously (Pending →
Active), and until then the key cannot address rows — `KEY_INDEX_S` here (control: key-index).
Error codes for duplicates and bad bodies are not in the docs read: the messages name the problem.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any, Final

from emulators.dataverse.catalogue import Column, TableDef, common_columns
from emulators.dataverse.models import DataverseError, Organization

CRM: Final = "Microsoft.Dynamics.CRM."
# @odata.type → the column's AttributeType
COLUMN_KINDS: Final = {
    "StringAttributeMetadata": "String",
    "MemoAttributeMetadata": "Memo",
    "IntegerAttributeMetadata": "Integer",
    "DecimalAttributeMetadata": "Decimal",
    "DoubleAttributeMetadata": "Double",
    "MoneyAttributeMetadata": "Money",
    "BooleanAttributeMetadata": "Boolean",
    "DateTimeAttributeMetadata": "DateTime",
    "PicklistAttributeMetadata": "Picklist",
}
KEY_COLUMN_TYPES: Final = frozenset({"Decimal", "Integer", "String", "DateTime", "Lookup", "Picklist"})
MAX_KEYS: Final = 10
KEY_INDEX_S: Final = 2.0  # how long the asynchronous index job takes here (real orgs: minutes)
ACTIVITY_REGARDING: Final = ("lead", "contact", "account", "opportunity")


@dataclass
class KeyJob:
    """An alternate key and its index: usable once `ready_at` has passed."""

    table: str
    schema_name: str
    attributes: tuple[str, ...]
    ready_at: float
    metadata_id: str

    def status(self, now: float) -> str:
        return "Active" if now >= self.ready_at else "Pending"

    def wire(self, now: float) -> dict[str, Any]:
        return {
            "MetadataId": self.metadata_id,
            "SchemaName": self.schema_name,
            "LogicalName": self.schema_name.lower(),
            "KeyAttributes": list(self.attributes),
            "EntityKeyIndexStatus": self.status(now),
        }


def _bad(message: str) -> DataverseError:
    return DataverseError(400, "0x80040203", message)


def _label(body: dict[str, Any], name: str, required: bool = True) -> str:
    labels = (body.get(name) or {}).get("LocalizedLabels") or []
    text = str(labels[0].get("Label", "")) if labels and isinstance(labels[0], dict) else ""
    if required and not text:
        raise _bad(f"{name} needs a Label with at least one LocalizedLabel.")
    return text


def _schema_name(body: dict[str, Any], what: str) -> str:
    name = body.get("SchemaName")
    if not isinstance(name, str) or "_" not in name.strip("_") or not name.replace("_", "").isalnum():
        raise _bad(f"The {what}'s SchemaName '{name}' must start with a publisher prefix, e.g. new_Name.")
    return name


def column_of(body: Any, *, primary: bool = False) -> Column:
    """A column definition from an AttributeMetadata body; refused with the reason."""
    if not isinstance(body, dict):
        raise _bad("The request body must be an AttributeMetadata object.")
    kind = str(body.get("@odata.type", "")).removeprefix("#").removeprefix(CRM)
    if kind not in COLUMN_KINDS:
        raise _bad(f"Columns of @odata.type '{kind}' cannot be created here; use one of {', '.join(COLUMN_KINDS)}.")
    schema = body.get("SchemaName") if primary else _schema_name(body, "column")
    if not isinstance(schema, str) or not schema:
        raise _bad("The column needs a SchemaName.")
    _label(body, "DisplayName")
    attribute_type = COLUMN_KINDS[kind]
    if body.get("AttributeType") not in (None, attribute_type):
        raise _bad(f"AttributeType '{body.get('AttributeType')}' does not match @odata.type {kind}.")
    length = body.get("MaxLength")
    if attribute_type in ("String", "Memo") and not (isinstance(length, int) and 1 <= length <= 1_048_576):
        raise _bad(f"A {attribute_type} column needs a MaxLength (1 to 1048576); got {length!r}.")
    options: tuple[tuple[int, str], ...] = ()
    if attribute_type == "Boolean":
        option_set = body.get("OptionSet") or {}
        options = (
            (0, _label(option_set.get("FalseOption") or {}, "Label")),
            (1, _label(option_set.get("TrueOption") or {}, "Label")),
        )
    if attribute_type == "Picklist":
        given = (body.get("OptionSet") or {}).get("Options") or []
        options = tuple((int(o["Value"]), _label(o, "Label")) for o in given)
    behavior = str(((body.get("DateTimeBehavior") or {}).get("Value")) or "UserLocal")
    date_only = attribute_type == "DateTime" and body.get("Format") == "DateOnly"
    return Column(
        schema.lower(),
        attribute_type,
        max_length=length if attribute_type in ("String", "Memo") else None,
        options=options,
        display=_label(body, "DisplayName"),
        date_only=date_only,
        behavior=behavior,
    )


def add_column(org: Organization, table: str, body: Any) -> str:
    """The column added to the table; its MetadataId."""
    data = org.tables.get(table)
    if data is None:
        raise DataverseError(404, "0x80040217", f"Could not find entity with key LogicalName='{table}'")
    column = column_of(body)
    if data.definition.column(column.name) is not None:
        raise _bad(f"A column named '{column.name}' already exists on {table}.")
    columns = (*data.definition.columns, column)
    data.definition = dataclasses.replace(data.definition, columns=columns, columns_by_name={})
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"attribute/{table}/{column.name}"))


def _activity_columns(logical_name: str, subject: Column) -> tuple[Column, ...]:
    """What every activity table has from activitypointer [M3]."""
    return (
        Column("activityid", "Uniqueidentifier"),
        subject,
        Column("description", "Memo", 2000),
        Column("scheduledstart", "DateTime"),
        Column("scheduledend", "DateTime"),
        Column("actualstart", "DateTime"),
        Column("actualend", "DateTime"),
        Column("regardingobjectid", "Lookup", targets=ACTIVITY_REGARDING, navigation_suffix=f"_{logical_name}"),
        Column("statecode", "State", options=((0, "Open"), (1, "Completed"), (2, "Canceled"))),
        Column("statuscode", "Status", options=((1, "Open"), (2, "Completed"), (3, "Canceled"))),
        Column("activitytypecode", "EntityName", read_only=True),
    )


def plural(name: str) -> str:
    """The entity set name Dataverse derives from a logical name (English plural)."""
    if name.endswith("y") and name[-2:-1] not in "aeiou":
        return f"{name[:-1]}ies"
    return f"{name}es" if name.endswith(("s", "x", "ch", "sh")) else f"{name}s"


def table_of(body: Any) -> TableDef:
    """A table definition from an EntityMetadata body; refused with the reason."""
    if not isinstance(body, dict) or str(body.get("@odata.type", "")).removeprefix("#") != f"{CRM}EntityMetadata":
        raise _bad(
            "The request body must be an EntityMetadata object (@odata.type Microsoft.Dynamics.CRM.EntityMetadata)."
        )
    schema = _schema_name(body, "table")
    display = _label(body, "DisplayName")
    _label(body, "DisplayCollectionName")
    for required in ("OwnershipType", "IsActivity", "HasActivities", "HasNotes"):
        if required not in body:
            raise _bad(f"The table definition needs {required}.")
    if body["OwnershipType"] not in ("UserOwned", "TeamOwned", "OrganizationOwned"):
        raise _bad(f"OwnershipType '{body['OwnershipType']}' is not one of UserOwned, TeamOwned, OrganizationOwned.")
    primaries = [a for a in body.get("Attributes") or [] if isinstance(a, dict) and a.get("IsPrimaryName")]
    if (
        len(primaries) != 1
        or str(primaries[0].get("@odata.type", "")).removeprefix("#") != f"{CRM}StringAttributeMetadata"
    ):
        raise _bad("Attributes must hold exactly one StringAttributeMetadata with IsPrimaryName true.")
    logical = schema.lower()
    entity_set = plural(logical)
    if body["IsActivity"]:
        if body["OwnershipType"] not in ("UserOwned", "TeamOwned"):
            raise _bad("An activity table is UserOwned or TeamOwned.")
        if str(primaries[0].get("SchemaName", "")).lower() != "subject":
            raise _bad("A custom activity's primary column must be named Subject.")
        subject = column_of(primaries[0], primary=True)
        columns = (*_activity_columns(logical, subject), *common_columns())
        primary_id, primary_name = "activityid", "subject"
    else:
        name = column_of(primaries[0])
        primary_id, primary_name = f"{logical}id", name.name
        columns = (
            Column(primary_id, "Uniqueidentifier"),
            name,
            *common_columns(body["OwnershipType"] != "OrganizationOwned"),
        )
    return TableDef(
        logical,
        entity_set,
        primary_id,
        primary_name,
        columns,
        change_tracking=bool(body.get("ChangeTrackingEnabled", False)),
        display=display,
        schema_name=schema,
        is_activity=bool(body["IsActivity"]),
    )


def key_of(org: Organization, table: str, body: Any, now: float, index_s: float) -> KeyJob:
    """An alternate key on existing columns of the allowed types; its index job starts now."""
    data = org.tables.get(table)
    if data is None:
        raise DataverseError(404, "0x80040217", f"Could not find entity with key LogicalName='{table}'")
    if not isinstance(body, dict) or str(body.get("@odata.type", "")).removeprefix("#") != f"{CRM}EntityKeyMetadata":
        raise _bad("The request body must be an EntityKeyMetadata object.")
    schema = _schema_name(body, "key")
    _label(body, "DisplayName")
    attributes = body.get("KeyAttributes")
    if not isinstance(attributes, list) or not 1 <= len(attributes) <= 16:
        raise _bad("KeyAttributes must list 1 to 16 column logical names.")
    for name in attributes:
        column = data.definition.column(str(name))
        if column is None:
            raise _bad(f"KeyAttributes names '{name}', which is not a column of {table}.")
        if column.type not in KEY_COLUMN_TYPES:
            raise _bad(f"A {column.type} column ('{name}') cannot be part of an alternate key.")
    jobs = org.key_jobs.setdefault(table, [])
    if len(jobs) >= MAX_KEYS:
        raise _bad(f"{table} has {MAX_KEYS} alternate keys already, the most a table can have.")
    if any(j.schema_name.lower() == schema.lower() or j.attributes == tuple(attributes) for j in jobs):
        raise _bad(f"An alternate key '{schema}' or one on the same columns already exists on {table}.")
    job = KeyJob(table, schema, tuple(str(a) for a in attributes), now + index_s, str(uuid.uuid4()))
    jobs.append(job)
    return job
