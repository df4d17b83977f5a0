"""Dataverse's wire format: OData headers, error bodies, Prefer, rows as entities (lookups,
formatted values, annotations), payloads with @odata.bind, and paging / delta tokens."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import orjson
from werkzeug.wrappers import Response

from emulators.dataverse.catalogue import Column, TableDef
from emulators.dataverse.models import DataverseError, Organization, Row, not_found
from emulators.dataverse.odata import parse_datetime

ODATA_HEADERS = {"OData-Version": "4.0"}
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BIND = re.compile(r"^(?:.*/)?(?P<set>[A-Za-z_][A-Za-z0-9_]*)\((?P<id>[^)]+)\)$")


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status=status,
        headers={**ODATA_HEADERS, **(headers or {})},
        mimetype="application/json",
    )


def error_reply(error: DataverseError) -> Response:
    return json_reply({"error": {"code": error.code, "message": error.message}}, error.status, error.headers)


def bad_request(message: str, code: str = "0x80060888") -> DataverseError:
    return DataverseError(400, code, message)


@dataclass(frozen=True)
class Prefer:
    max_page_size: int = 5000
    track_changes: bool = False
    annotations: str | None = None
    return_representation: bool = False
    continue_on_error: bool = False

    def wants(self, annotation: str) -> bool:
        if self.annotations is None:
            return False
        patterns = [p.strip() for p in self.annotations.split(",")]
        return any(
            p == "*" or p == annotation or (p.endswith(".*") and annotation.startswith(p[:-1])) for p in patterns
        )


_PREFERENCE = re.compile(r'(?:[^,"]|"[^"]*")+')


def parse_prefer(header: str | None) -> Prefer:
    """Preferences are comma-separated, and a quoted value (an annotation list) may hold commas:
    `odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"`."""
    values: dict[str, Any] = {}
    for part in _PREFERENCE.findall(header or ""):
        name, _, raw = part.strip().partition("=")
        raw = raw.strip().strip('"')
        if name == "odata.maxpagesize":
            try:
                values["max_page_size"] = max(1, min(int(raw), 5000))
            except ValueError:
                raise bad_request(f"Invalid odata.maxpagesize '{raw}'.") from None
        elif name == "odata.track-changes":
            values["track_changes"] = True
        elif name == "odata.include-annotations":
            values["annotations"] = raw
        elif name == "return" and raw == "representation":
            values["return_representation"] = True
        elif name == "odata.continue-on-error":
            values["continue_on_error"] = True
    return Prefer(**values)


def encode_token(**fields: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        return dict(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))
    except (ValueError, TypeError):
        raise bad_request("The $skiptoken is not valid; follow @odata.nextLink as returned.") from None


def delta_token(version: int, moment: datetime) -> str:
    return f"{version}!{moment.strftime('%m/%d/%Y %H:%M:%S')}"


def parse_delta_token(token: str) -> tuple[int, datetime]:
    try:
        version, stamp = token.split("!", 1)
        return int(version), datetime.strptime(stamp, "%m/%d/%Y %H:%M:%S")
    except ValueError:
        raise bad_request(f"The delta token '{token}' is not valid.") from None


def quote_token(token: str) -> str:
    return quote(token, safe="")


# entities


_FORMATTED_TYPES = frozenset({"Money", "Integer", "BigInt", "Decimal", "Double", "DateTime"})


def _formatted(column: Column, value: Any) -> str | None:
    if value is None:
        return None
    if column.options:
        return column.label_of(int(value)) if not isinstance(value, str) else None
    if column.type == "Money":
        return f"${float(value):,.2f}"
    if column.type in ("Integer", "BigInt"):
        return f"{int(value):,}"
    if column.type in ("Decimal", "Double"):
        return f"{float(value):,.2f}"
    if column.type == "DateTime":
        moment = parse_datetime(str(value))
        shown = f"{moment.month}/{moment.day}/{moment.year}"
        return shown if column.behavior == "DateOnly" else f"{shown} {moment.strftime('%I:%M %p').lstrip('0')}"
    return None


def serializer(
    org: Organization, table: TableDef, select: list[str] | None, prefer: Prefer
) -> Callable[[Row], dict[str, Any]]:
    """Decide once per request what each row becomes, then apply it to every row of the page."""
    chosen = [table.column(n) for n in select] if select else list(table.columns)
    columns = [c for c in chosen if c is not None and not c.write_only]
    if table.columns_by_name[table.primary_id] not in columns:
        columns.append(table.columns_by_name[table.primary_id])
    plain = [c.name for c in columns if not c.is_lookup]
    lookups = [(c, c.lookup_property) for c in columns if c.is_lookup]
    formatted = prefer.wants(FORMATTED)
    navigation, logical = prefer.wants(NAVIGATION), prefer.wants(LOOKUP_LOGICAL_NAME)
    formattable = [c for c in columns if not c.is_lookup and (c.options or c.type in _FORMATTED_TYPES)]

    def one(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": f'W/"{row.get("versionnumber")}"'}
        get = row.get
        out.update({name: get(name) for name in plain})
        for column, key in lookups:
            ref = row.get(column.name)
            out[key] = ref[1] if ref else None
            if ref:
                if formatted:
                    target = org.get(ref[0], ref[1])
                    out[f"{key}@{FORMATTED}"] = (
                        target.get(org.table(ref[0]).definition.primary_name) if target else None
                    )
                if navigation:
                    out[f"{key}@{NAVIGATION}"] = column.navigation_property(ref[0])
                if logical:
                    out[f"{key}@{LOOKUP_LOGICAL_NAME}"] = ref[0]
        if formatted:
            for column in formattable:
                text = _formatted(column, row.get(column.name))
                if text is not None:
                    out[f"{column.name}@{FORMATTED}"] = text
        return out

    return one


def serialize(org: Organization, table: TableDef, row: Row, select: list[str] | None, prefer: Prefer) -> dict[str, Any]:
    return serializer(org, table, select, prefer)(row)


# payloads


def _coerce(table: TableDef, column: Column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    edm = {
        "Integer": "Edm.Int32",
        "BigInt": "Edm.Int64",
        "Decimal": "Edm.Decimal",
        "Double": "Edm.Double",
        "Money": "Edm.Decimal",
        "Boolean": "Edm.Boolean",
        "DateTime": "Edm.DateTimeOffset",
        "Uniqueidentifier": "Edm.Guid",
    }.get(kind, "Edm.String")

    def refuse() -> DataverseError:
        return bad_request(f"Cannot convert the literal '{value}' to the expected type '{edm}'.", "0x80048d19")

    if kind in ("Integer", "BigInt", "Picklist", "State", "Status"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise refuse()
        if column.options and value not in {v for v, _ in column.options}:
            raise bad_request(
                f"A validation error occurred. The value {value} of '{column.name}' on record of type "
                f"'{table.logical_name}' is outside the valid range.",
                "0x8004431a",
            )
        return value
    if kind in ("Decimal", "Double", "Money"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refuse()
        return float(value)
    if kind == "Boolean":
        if not isinstance(value, bool):
            raise refuse()
        return value
    if kind == "DateTime" and column.behavior == "DateOnly":  # Edm.Date: a date, never a moment
        edm = "Edm.Date"
        if not isinstance(value, str) or len(value) != 10:
            raise refuse()
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise refuse() from None
    if kind == "DateTime":
        try:
            return parse_datetime(str(value)).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise refuse() from None
    if kind == "Uniqueidentifier":
        if not isinstance(value, str) or not _GUID.fullmatch(value):
            raise refuse()
        return value.lower()
    if kind == "MultiSelectPicklist":
        parts = [p for p in str(value).split(",") if p]
        if not all(p.strip().lstrip("-").isdigit() for p in parts):
            raise refuse()
        return ",".join(p.strip() for p in parts)
    if not isinstance(value, str):
        raise refuse()
    if column.max_length and len(value) > column.max_length:
        raise bad_request(
            f"A validation error occurred. The length of the '{column.name}' attribute of the "
            f"'{table.logical_name}' entity exceeded the maximum allowed length of '{column.max_length}'.",
            "0x80044331",
        )
    return value


def parse_payload(org: Organization, table: TableDef, payload: Any) -> Row:
    """A request body → stored values (lookups as (table, id)); 400 naming the first problem."""
    if not isinstance(payload, dict):
        raise bad_request("The request body must be a JSON object.")
    values: Row = {}
    for key, value in payload.items():
        if key == "@odata.type":
            expected = f"Microsoft.Dynamics.CRM.{table.logical_name}"
            if str(value).lstrip("#") != expected:
                raise bad_request(f"The @odata.type '{value}' does not match the entity set's type '{expected}'.")
            continue
        if key.startswith("@") or ("@" in key and not key.endswith("@odata.bind")):
            continue  # instance annotations are ignored, as by the service
        if key.endswith("@odata.bind"):
            navigation = key[: -len("@odata.bind")]
            column, target = _bind_target(table, navigation)
            if value is None:
                values[column.name] = None
                continue
            match = _BIND.match(str(value))
            target_table = org.by_entity_set.get(match.group("set")) if match else None
            if match is None or target_table is None:
                raise bad_request(
                    f"The @odata.bind value '{value}' is not an entity reference such as /accounts(<guid>)."
                )
            if target is not None and target_table != target:
                raise bad_request(f"'{navigation}' binds to {target}, not {target_table}.")
            if target_table not in column.targets:
                raise bad_request(f"'{column.name}' cannot refer to a {target_table}.")
            target_id = match.group("id").strip("'").lower()
            if org.get(target_table, target_id) is None:
                raise not_found(target_table, target_id)
            values[column.name] = (target_table, target_id)
            continue
        found = table.column(key)
        if found is None or found.is_lookup:
            hint = " Set lookups with <name>@odata.bind." if key.startswith("_") and key.endswith("_value") else ""
            raise bad_request(
                f"The property '{key}' does not exist on type 'Microsoft.Dynamics.CRM.{table.logical_name}'. "
                f"Make sure to only use property names that are defined by the type.{hint}"
            )
        if found.read_only:
            continue  # the service ignores values for read-only columns
        values[key] = _coerce(table, found, value)
    return values


def _bind_target(table: TableDef, navigation: str) -> tuple[Column, str | None]:
    column = table.column(navigation)
    if column is not None and column.is_lookup:
        return column, column.targets[0] if len(column.targets) == 1 else None
    for candidate in table.columns:
        if candidate.is_lookup:
            for target in candidate.targets:
                if navigation == candidate.navigation_property(target):
                    return candidate, target
    raise bad_request(
        f"An undeclared property '{navigation}' which only has property annotations in the payload but no "
        "property value was found in the payload. In OData, only declared navigation properties and declared "
        "named streams can be represented as properties without values."
    )
