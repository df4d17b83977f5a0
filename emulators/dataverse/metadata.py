"""EntityDefinitions and Attributes, as the metadata endpoints answer them (with $select,
$filter, $expand=Attributes(...), the PicklistAttributeMetadata cast and $expand=OptionSet)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.dataverse.catalogue import Column, TableDef
from emulators.dataverse.metadata_properties import (
    ATTRIBUTE_PROPERTIES,
    DERIVED_ATTRIBUTE_PROPERTIES,
    ENTITY_PROPERTIES,
    NAVIGATION,
)
from emulators.dataverse.models import DataverseError, Organization
from emulators.dataverse.odata import ODataError, compile_filter, parse_list
from emulators.dataverse.wire import json_reply

_PATH = re.compile(
    r"^EntityDefinitions(?:\((?P<key>[^)]*)\))?"
    r"(?:/Attributes(?:/Microsoft\.Dynamics\.CRM\.(?P<cast>\w+))?(?:\((?P<attr>[^)]*)\))?|(?P<keys>/Keys))?$"
)
_TYPE_NAMES = {"Uniqueidentifier": "UniqueidentifierType", "MultiSelectPicklist": "MultiSelectPicklistType"}
_METADATA_TYPES = {
    "String": "String",
    "Memo": "Memo",
    "Integer": "Integer",
    "BigInt": "BigInt",
    "Decimal": "Decimal",
    "Double": "Double",
    "Money": "Money",
    "Boolean": "Boolean",
    "DateTime": "DateTime",
    "Picklist": "Picklist",
    "State": "State",
    "Status": "Status",
    "Lookup": "Lookup",
    "Customer": "Lookup",
    "Owner": "Lookup",
    "Uniqueidentifier": "UniqueIdentifier",
    "MultiSelectPicklist": "MultiSelectPicklist",
    "EntityName": "EntityName",
}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _label(text: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": 1033}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def _managed(value: bool, name: str) -> dict[str, Any]:
    return {"Value": value, "CanBeChanged": True, "ManagedPropertyLogicalName": name.lower()}


def entity(table: TableDef) -> dict[str, Any]:
    """Every documented EntityMetadata property (navigation ones aside): modelled, or null."""
    schema = table.schema_name or (table.logical_name if "_" in table.logical_name else table.logical_name.capitalize())
    modelled = {
        "MetadataId": _id("entity", table.logical_name),
        "LogicalName": table.logical_name,
        "SchemaName": schema,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": f"{schema}s" if not schema.endswith("s") else schema,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ChangeTrackingEnabled": table.change_tracking,
        "CanChangeTrackingBeEnabled": _managed(True, "CanChangeTrackingBeEnabled"),
        "IsCustomEntity": "_" in table.logical_name,
        "IsManaged": "_" not in table.logical_name,
        "IsActivity": table.is_activity or table.logical_name == "task",
        "IsIntersect": False,
        "IsValidForAdvancedFind": True,
        "IsLogicalEntity": False,
        "IsPrivate": False,
        "OwnershipType": "UserOwned" if any(c.name == "ownerid" for c in table.columns) else "OrganizationOwned",
        "TableType": "Standard",
        "DisplayName": _label(table.display or table.logical_name),
    }
    return {**dict.fromkeys(sorted(ENTITY_PROPERTIES - NAVIGATION)), **modelled}


def _entity_select(select: list[str]) -> list[str]:
    unknown = [name for name in select if name not in ENTITY_PROPERTIES]
    if unknown:
        raise DataverseError(
            400,
            "0x80060888",
            f"Could not find a property named '{unknown[0]}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.",
        )
    return select


def _attribute_select(select: list[str], cast: str | None) -> list[str]:
    """Properties of AttributeMetadata, plus those of the cast-to type when the path casts."""
    allowed = ATTRIBUTE_PROPERTIES | DERIVED_ATTRIBUTE_PROPERTIES.get(cast or "", frozenset())
    unknown = [name for name in select if name not in allowed]
    if unknown:
        raise DataverseError(
            400,
            "0x80060888",
            f"Could not find a property named '{unknown[0]}' on type "
            f"'Microsoft.Dynamics.CRM.{cast or 'AttributeMetadata'}'.",
        )
    return select


def attribute(table: TableDef, column: Column, expand_option_set: bool) -> dict[str, Any]:
    kind = _METADATA_TYPES.get(column.type, column.type)
    body: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
        "MetadataId": _id("attribute", table.logical_name, column.name),
        "LogicalName": column.name,
        "SchemaName": column.name,
        "AttributeType": column.type,
        "AttributeTypeName": {"Value": _TYPE_NAMES.get(column.type, f"{column.type}Type")},
        "IsValidForCreate": not column.read_only,
        "IsValidForUpdate": not column.read_only and column.name != table.primary_id,
        "IsValidForRead": True,
        "IsCustomAttribute": column.name.startswith("new_"),
        "DisplayName": _label(column.display or column.name),
    }
    if column.max_length is not None:
        body["MaxLength"] = column.max_length
    if column.type == "DateTime":  # what tells a date-only column from a timestamp
        body["Format"] = "DateOnly" if column.date_only else "DateAndTime"
        body["DateTimeBehavior"] = {"Value": column.behavior}
    if column.is_lookup:
        body["Targets"] = list(column.targets)
    if expand_option_set and column.options:
        body["OptionSet"] = {"Options": [{"Value": v, "Label": _label(label)} for v, label in column.options]}
    return body


def _project(item: dict[str, Any], select: list[str]) -> dict[str, Any]:
    if not select:
        return item
    keep = {"MetadataId", "@odata.type", *select}
    return {k: v for k, v in item.items() if k in keep}


def find_table(org: Organization, key: str) -> TableDef:
    key = key.strip()
    if key.startswith("LogicalName="):
        name = key.split("=", 1)[1].strip("'")
        if name in org.tables:
            return org.table(name).definition
    else:
        for data in org.tables.values():
            if entity(data.definition)["MetadataId"] == key.lower():
                return data.definition
    raise DataverseError(404, "0x80040217", f"Could not find entity with key {key}")


def _expand(raw: str | None) -> dict[str, list[str]]:
    """ "Attributes($select=a,b)" or "OptionSet" → {"Attributes": ["a", "b"]}."""
    found: dict[str, list[str]] = {}
    for match in re.finditer(r"(\w+)(?:\(\$select=([^)]*)\))?", raw or ""):
        found[match.group(1)] = parse_list(match.group(2))
    return found


def answer(org: Organization, request: Request, path: str, now: float) -> Response:
    match = _PATH.match(path)
    if match is None:
        raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{path}'.")
    select = parse_list(request.args.get("$select"))
    expand = _expand(request.args.get("$expand"))
    if "Attributes" in expand:
        _attribute_select(expand["Attributes"], None)
    if match.group("keys"):
        select = []
    elif match.group("key") is None or "/Attributes" not in path:
        select = _entity_select(select)
    else:
        select = _attribute_select(select, match.group("cast"))
    base = f"{request.host_url.rstrip('/')}/api/data/v9.2/$metadata"
    if match.group("key") is None:
        items = [entity(data.definition) for data in org.tables.values()]
        if "$filter" in request.args:

            def resolve(name: str) -> Any:
                if name not in items[0]:
                    raise ODataError(
                        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'."
                    )
                return lambda row, n=name: row.get(n)

            predicate = compile_filter(request.args["$filter"], resolve)
            items = [i for i in items if predicate(i)]
        by_name = {data.definition.logical_name: data.definition for data in org.tables.values()}
        value = [_project(i, select) for i in items]
        if "Attributes" in expand:  # on the collection too: every table with its attributes
            for item, entry in zip(items, value, strict=True):
                table = by_name[item["LogicalName"]]
                entry["Attributes"] = [
                    _project(attribute(table, c, False), expand["Attributes"]) for c in table.columns
                ]
        return json_reply({"@odata.context": f"{base}#EntityDefinitions", "value": value})
    table = find_table(org, match.group("key"))
    keys = [j.wire(now) for j in org.key_jobs.get(table.logical_name, [])]
    if match.group("keys"):
        context = f"{base}#EntityDefinitions('{table.logical_name}')/Keys"
        return json_reply({"@odata.context": context, "value": keys})
    on_attributes = "/Attributes" in path
    if not on_attributes:
        body = {"@odata.context": f"{base}#EntityDefinitions/$entity", **_project(entity(table), select)}
        if "Keys" in expand:
            body["Keys"] = [_project(k, expand["Keys"]) for k in keys]
        if "Attributes" in expand:
            body["Attributes"] = [_project(attribute(table, c, False), expand["Attributes"]) for c in table.columns]
        return json_reply(body)
    columns = list(table.columns)
    cast = match.group("cast")
    if cast:
        wanted = cast.removesuffix("AttributeMetadata")
        columns = [c for c in columns if _METADATA_TYPES.get(c.type, c.type) == wanted]
    if match.group("attr"):
        name = match.group("attr").split("=", 1)[-1].strip("'")
        columns = [c for c in columns if c.name == name or attribute(table, c, False)["MetadataId"] == name]
        if not columns:
            raise DataverseError(404, "0x80040217", f"Could not find attribute {name} on {table.logical_name}")
        return json_reply(_project(attribute(table, columns[0], "OptionSet" in expand), select))
    with_options = "OptionSet" in expand
    shown = [*select, "OptionSet"] if select and with_options else select
    return json_reply(
        {
            "@odata.context": f"{base}#EntityDefinitions('{table.logical_name}')/Attributes",
            "value": [_project(attribute(table, c, with_options), shown) for c in columns],
        }
    )
