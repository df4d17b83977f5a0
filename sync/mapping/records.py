"""A Dynamics row (as the Web API returns it) → the Marketo values of its mapped fields. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sync.mapping.resolve import FieldMapping, TableMapping
from sync.mapping.transforms import TransformError, to_marketo
from sync.mapping.types import LookupValue

LOOKUP_TABLE: Final = "@Microsoft.Dynamics.CRM.lookuplogicalname"
FORMATTED: Final = "@OData.Community.Display.V1.FormattedValue"


@dataclass(frozen=True)
class Mapped:
    """The Marketo values of one row, and the fields that could not be carried (with why)."""

    values: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def dynamics_value(row: Mapping[str, Any], mapping: FieldMapping) -> Any:
    """The column's value in the row, honouring a lookup's target table and the name/id choice."""
    name = mapping.property_name
    if mapping.reference:
        if row.get(name) is None:
            return None
        if mapping.lookup_target and row.get(f"{name}{LOOKUP_TABLE}") not in (None, mapping.lookup_target):
            return None
        if mapping.spec.lookup_value is LookupValue.NAME:
            return row.get(f"{name}{FORMATTED}")
    return row.get(name)


def marketo_values(row: Mapping[str, Any], table: TableMapping, *, every_field: bool = False) -> Mapped:
    """The row's values in Marketo's terms: the fields that flow to Marketo, or (`every_field`)
    every mapped field, as the three-way merge compares them."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for mapping in table.fields if every_field else table.to_marketo_fields():
        try:
            values[mapping.marketo] = to_marketo(dynamics_value(row, mapping), mapping.spec)
        except TransformError as error:
            problems.append(str(error))
    return Mapped(values, problems)


def passes_filter(row: Mapping[str, Any], table: TableMapping) -> bool:
    """Behaviour §5: the filter column missing, null or true → synced; false → not synced."""
    return table.filter_column is None or row.get(table.filter_column) is not False
