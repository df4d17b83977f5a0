"""Value transforms, both directions, for every field type of behaviour §8: round trips as
properties (Hypothesis) where the types allow them, and the edge cases as a table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.mapping.transforms import TRANSFORMS, TransformError, ValueSpec, to_dynamics, to_marketo
from sync.mapping.types import (
    COMPATIBLE_MARKETO_TYPES,
    FIELD_TYPE_OF_ATTRIBUTE,
    FIELD_TYPE_OF_BEHAVIOR,
    FieldType,
    LookupValue,
    OptionValue,
    field_type,
)

OPTIONS = {1: "Hot", 2: "Warm", 3: "Cold", 100000000: "Très chaud"}
GUIDS = st.uuids().map(str)
TEXT = st.text(min_size=1, max_size=255).filter(lambda s: s != "")


def spec(kind: FieldType, marketo_type: str = "string", **kw: Any) -> ValueSpec:
    return ValueSpec(kind, f"column → {kind.value}", marketo_type, **kw)


def _round_trip(value: Any, value_spec: ValueSpec) -> Any:
    return to_dynamics(to_marketo(value, value_spec), value_spec)


@given(TEXT)
def test_text_round_trips_unchanged(value: str) -> None:
    assert _round_trip(value, spec(FieldType.TEXT, max_length=255)) == value


@given(st.integers(min_value=-(2**53), max_value=2**53), st.sampled_from(["integer", "string", "float"]))
def test_whole_numbers_round_trip_whatever_the_marketo_type(value: int, marketo_type: str) -> None:
    assert _round_trip(value, spec(FieldType.INTEGER, marketo_type)) == value


@given(st.floats(allow_nan=False, allow_infinity=False, width=64), st.sampled_from(["currency", "float", "string"]))
def test_decimals_and_money_round_trip_exactly(value: float, marketo_type: str) -> None:
    for kind in (FieldType.DECIMAL, FieldType.MONEY):
        assert _round_trip(value, spec(kind, marketo_type)) == value


@given(st.booleans(), st.sampled_from(["boolean", "string"]))
def test_booleans_round_trip(value: bool, marketo_type: str) -> None:
    assert _round_trip(value, spec(FieldType.BOOLEAN, marketo_type)) is value


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
def test_dates_round_trip_as_iso_dates(value: date) -> None:
    assert _round_trip(value.isoformat(), spec(FieldType.DATE, "date")) == value.isoformat()


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2199, 1, 1), timezones=st.just(UTC)))
def test_date_times_round_trip_in_utc_to_the_second(value: datetime) -> None:
    canonical = value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _round_trip(canonical, spec(FieldType.DATETIME, "datetime")) == canonical


@given(st.sampled_from(sorted(OPTIONS)), st.sampled_from(list(OptionValue)))
def test_option_sets_round_trip_by_label_or_by_code(code: int, mode: OptionValue) -> None:
    assert _round_trip(code, spec(FieldType.OPTION, options=OPTIONS, option_value=mode)) == code


@given(st.sets(st.sampled_from(sorted(OPTIONS)), min_size=1))
def test_multi_select_option_sets_round_trip_as_the_web_api_writes_them(codes: set[int]) -> None:
    canonical = ",".join(map(str, sorted(codes)))
    assert _round_trip(canonical, spec(FieldType.MULTI_OPTION, options=OPTIONS)) == canonical


@given(GUIDS)
def test_lookups_and_owners_by_id_round_trip_in_lower_case(guid: str) -> None:
    for kind in (FieldType.LOOKUP, FieldType.OWNER):
        assert _round_trip(guid.upper(), spec(kind)) == guid.lower()


@pytest.mark.parametrize(
    ("value_spec", "dynamics", "marketo"),
    [
        (spec(FieldType.OPTION, options=OPTIONS), 100000000, "Très chaud"),
        (spec(FieldType.OPTION, "integer", options=OPTIONS, option_value=OptionValue.CODE), 2, 2),
        (spec(FieldType.MULTI_OPTION, options=OPTIONS), "3,1", "Hot;Cold"),
        (spec(FieldType.DATETIME, "date"), "2026-11-22T23:30:00Z", "2026-11-22"),
        (spec(FieldType.DATETIME, "datetime"), "2026-11-22T23:30:00+02:00", "2026-11-22T21:30:00Z"),
        (spec(FieldType.DATE, "date"), "2026-02-28", "2026-02-28"),
        (spec(FieldType.BOOLEAN, "string"), True, "true"),
        (spec(FieldType.MONEY, "currency"), 1200.5, 1200.5),
        (spec(FieldType.LOOKUP, lookup_value=LookupValue.NAME), "Contoso Ltd", "Contoso Ltd"),
        (spec(FieldType.TEXT), None, None),
        (spec(FieldType.INTEGER, "integer"), "", None),
    ],
)
def test_values_reach_marketo_in_marketos_form(value_spec: ValueSpec, dynamics: Any, marketo: Any) -> None:
    assert to_marketo(dynamics, value_spec) == marketo


@pytest.mark.parametrize(
    ("value_spec", "marketo", "dynamics"),
    [
        (spec(FieldType.OPTION, options=OPTIONS), "warm", 2),  # labels match whatever their case
        (spec(FieldType.BOOLEAN), "1", True),  # activities carry booleans as text
        (spec(FieldType.INTEGER, "integer"), "42", 42),
        (spec(FieldType.DATETIME, "datetime"), "2014-09-17T22:31:49+0000", "2014-09-17T22:31:49Z"),
        (spec(FieldType.TEXT), "", None),
        (spec(FieldType.MULTI_OPTION, options=OPTIONS), "", None),
    ],
)
def test_values_from_marketo_reach_dynamics_in_the_web_apis_form(
    value_spec: ValueSpec, marketo: Any, dynamics: Any
) -> None:
    assert to_dynamics(marketo, value_spec) == dynamics


@pytest.mark.parametrize(
    ("value_spec", "value", "direction", "message"),
    [
        (spec(FieldType.TEXT, max_length=5), "too long", to_marketo, "is 8 characters; the Marketo field holds 5"),
        (spec(FieldType.OPTION, options=OPTIONS), 7, to_marketo, "is not one of the option set's codes"),
        (spec(FieldType.OPTION, options=OPTIONS), "Lukewarm", to_dynamics, "is not a label of the option set"),
        (spec(FieldType.INTEGER, "integer"), "12.5", to_dynamics, "is not a whole number"),
        (spec(FieldType.BOOLEAN), "perhaps", to_dynamics, "is not a boolean"),
        (spec(FieldType.DATETIME, "datetime"), "yesterday", to_dynamics, "is not an ISO-8601 date-time"),
        (spec(FieldType.LOOKUP, lookup_value=LookupValue.NAME), "Contoso", to_dynamics, "cannot be turned back"),
    ],
)
def test_a_value_that_cannot_be_carried_names_the_field_and_the_reason(
    value_spec: ValueSpec, value: Any, direction: Any, message: str
) -> None:
    with pytest.raises(TransformError, match=message) as raised:
        direction(value, value_spec)
    assert str(raised.value).startswith(value_spec.name)


# Every field type: one that can be chosen, goes into Marketo, and comes back where it may.

SAMPLES: dict[FieldType, tuple[Any, str]] = {  # a value as the Web API gives it, its natural Marketo type
    FieldType.TEXT: ("Ada", "string"),
    FieldType.MEMO: ("line one\nline two", "text"),
    FieldType.INTEGER: (42, "integer"),
    FieldType.DECIMAL: (2.5, "float"),
    FieldType.MONEY: (10.25, "currency"),
    FieldType.BOOLEAN: (True, "boolean"),
    FieldType.DATE: ("2026-11-22", "date"),
    FieldType.DATETIME: ("2026-11-22T10:30:00Z", "datetime"),
    FieldType.OPTION: (2, "string"),
    FieldType.MULTI_OPTION: ("1,3", "string"),
    FieldType.LOOKUP: ("6b29fc40-ca47-1067-b31d-00dd010662da", "string"),
    FieldType.OWNER: ("6b29fc40-ca47-1067-b31d-00dd010662db", "string"),
}


def test_every_field_type_can_be_chosen_from_a_dataverse_column() -> None:
    chosen = {field_type(a) for a in FIELD_TYPE_OF_ATTRIBUTE} | {
        field_type("DateTime", b) for b in FIELD_TYPE_OF_BEHAVIOR
    }
    assert chosen == set(FieldType)
    assert field_type("DateTime", "DateOnly") is FieldType.DATE
    assert field_type("DateTime", "UserLocal") is FieldType.DATETIME


@pytest.mark.parametrize("kind", list(FieldType), ids=[k.value for k in FieldType])
def test_every_field_type_has_a_transform_both_ways_for_every_compatible_marketo_type(kind: FieldType) -> None:
    assert set(SAMPLES) == set(FieldType) == set(TRANSFORMS) == set(COMPATIBLE_MARKETO_TYPES)
    value, natural = SAMPLES[kind]
    for marketo_type in sorted(COMPATIBLE_MARKETO_TYPES[kind]):
        value_spec = spec(kind, marketo_type, options=OPTIONS)
        carried = to_marketo(value, value_spec)
        assert carried is not None
        back = to_dynamics(carried, value_spec)
        if marketo_type == natural:
            assert back == value
