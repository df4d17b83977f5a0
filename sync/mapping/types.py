"""The vocabulary of a mapping: field types, per-field direction, who wins a conflict, and how
Dataverse attribute types and Marketo data types relate to them (data, not code)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class FieldType(StrEnum):
    TEXT = "text"
    MEMO = "memo"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    OPTION = "option"  # option set, state, status: a code in Dynamics, a label (or the code) in Marketo
    MULTI_OPTION = "multi_option"
    LOOKUP = "lookup"  # a reference: the other record's id, or its display name
    OWNER = "owner"  # user or team → a sales person


class FieldDirection(StrEnum):
    BOTH = "both"
    TO_MARKETO = "to_marketo"
    TO_DYNAMICS = "to_dynamics"

    @property
    def to_marketo(self) -> bool:
        return self is not FieldDirection.TO_DYNAMICS

    @property
    def to_dynamics(self) -> bool:
        return self is not FieldDirection.TO_MARKETO


class Winner(StrEnum):
    DYNAMICS = "dynamics"
    MARKETO = "marketo"
    NEWEST = "newest"  # by the two systems' modified times


class OptionValue(StrEnum):
    LABEL = "label"
    CODE = "code"


class LookupValue(StrEnum):
    ID = "id"
    NAME = "name"


# Dataverse AttributeType → the mapping's field type.
FIELD_TYPE_OF_ATTRIBUTE: Final[dict[str, FieldType]] = {
    "String": FieldType.TEXT,
    "Memo": FieldType.MEMO,
    "Integer": FieldType.INTEGER,
    "BigInt": FieldType.INTEGER,
    "Decimal": FieldType.DECIMAL,
    "Double": FieldType.DECIMAL,
    "Money": FieldType.MONEY,
    "Boolean": FieldType.BOOLEAN,
    "DateTime": FieldType.DATETIME,
    "Picklist": FieldType.OPTION,
    "State": FieldType.OPTION,
    "Status": FieldType.OPTION,
    "MultiSelectPicklist": FieldType.MULTI_OPTION,
    "Lookup": FieldType.LOOKUP,
    "Customer": FieldType.LOOKUP,
    "Owner": FieldType.OWNER,
    "Uniqueidentifier": FieldType.TEXT,
}
# A DateTime column's DateTimeBehavior that makes it a date (the Web API's Edm.Date: no time, no zone).
FIELD_TYPE_OF_BEHAVIOR: Final[dict[str, FieldType]] = {"DateOnly": FieldType.DATE}


def field_type(attribute_type: str, behavior: str | None = None) -> FieldType | None:
    """The mapping's type of a Dataverse column; None when such columns cannot be mapped."""
    kind = FIELD_TYPE_OF_ATTRIBUTE.get(attribute_type)
    if kind is FieldType.DATETIME and behavior in FIELD_TYPE_OF_BEHAVIOR:
        return FIELD_TYPE_OF_BEHAVIOR[behavior]
    return kind


# Marketo data types that hold text.
TEXTUAL: Final = frozenset({"string", "text", "email", "phone", "url"})

# Which Marketo data types can hold each field type without losing meaning.
COMPATIBLE_MARKETO_TYPES: Final[dict[FieldType, frozenset[str]]] = {
    FieldType.TEXT: TEXTUAL,
    FieldType.MEMO: TEXTUAL,
    FieldType.INTEGER: frozenset({"integer", "score", "float", "currency"}) | TEXTUAL,
    FieldType.DECIMAL: frozenset({"float", "currency", "integer", "score"}) | TEXTUAL,
    FieldType.MONEY: frozenset({"float", "currency"}) | TEXTUAL,
    FieldType.BOOLEAN: frozenset({"boolean"}) | TEXTUAL,
    FieldType.DATE: frozenset({"date", "datetime"}) | TEXTUAL,
    FieldType.DATETIME: frozenset({"datetime", "date"}) | TEXTUAL,
    FieldType.OPTION: frozenset({"integer"}) | TEXTUAL,
    FieldType.MULTI_OPTION: TEXTUAL,
    FieldType.LOOKUP: TEXTUAL,
    FieldType.OWNER: TEXTUAL,
}
