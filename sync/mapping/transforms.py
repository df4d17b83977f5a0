"""Value transforms between a Dynamics column and a Marketo field, both ways, as pure functions.

Every type of behaviour §8: text, memo, whole number, decimal, money, boolean, date and
date-time (UTC ISO-8601), option set (label or code), multi-select option set, lookup (the other
side's id, or a display name) and owner (user or team → sales person). A value that cannot be
carried raises `TransformError`, which names the field and the reason; the engine sends that
record to the errors table and the rest of the batch flows.

Round trips hold where the types allow it: `to_dynamics(to_marketo(v)) == v` for every value
in the canonical form the Web API returns (see the property tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from sync.mapping.types import TEXTUAL, FieldType, LookupValue, OptionValue


class TransformError(ValueError):
    """A value that cannot be carried to the other side; the message says which and why."""


@dataclass(frozen=True)
class ValueSpec:
    """What a transform needs to know of one mapped field."""

    type: FieldType
    name: str = ""  # for messages: "emailaddress1 → email"
    marketo_type: str = "string"
    max_length: int | None = None  # the Marketo field's
    options: Mapping[int, str] = field(default_factory=dict)  # option code → label
    option_value: OptionValue = OptionValue.LABEL
    lookup_value: LookupValue = LookupValue.ID

    @property
    def textual(self) -> bool:
        return self.marketo_type in TEXTUAL


def _fail(spec: ValueSpec, value: Any, reason: str) -> TransformError:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return TransformError(f"{spec.name or spec.type.value}: {shown} {reason}")


# dates and times


def parse_datetime(value: Any) -> datetime:
    """ISO-8601 with Z, +00:00 or Marketo's +0000; naive values are UTC."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 → +00:00
            text = f"{text[:-2]}:{text[-2:]}"
        moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return date.fromisoformat(text[:10]).isoformat()


# one function pair per type


def _text_out(value: Any, spec: ValueSpec) -> Any:
    text = str(value)
    if spec.max_length is not None and len(text) > spec.max_length:
        raise _fail(spec, value, f"is {len(text)} characters; the Marketo field holds {spec.max_length}")
    return text


def _text_in(value: Any, spec: ValueSpec) -> Any:
    text = str(value)
    return text if text != "" else None


def _number_text(value: Any, spec: ValueSpec, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(str(value).strip())
    except ValueError:
        raise _fail(spec, value, "is not a whole number" if parse is _integer else "is not a number") from None


def _integer(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


def _integer_out(value: Any, spec: ValueSpec) -> Any:
    number = _number_text(value, spec, _integer)
    return str(number) if spec.textual else number


def _integer_in(value: Any, spec: ValueSpec) -> Any:
    return _number_text(value, spec, _integer)


def _decimal_out(value: Any, spec: ValueSpec) -> Any:
    number = _number_text(value, spec, float)
    return repr(number) if spec.textual else number


def _decimal_in(value: Any, spec: ValueSpec) -> Any:
    return _number_text(value, spec, float)


_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


def _boolean_in(value: Any, spec: ValueSpec) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _fail(spec, value, "is not a boolean")


def _boolean_out(value: Any, spec: ValueSpec) -> Any:
    flag = _boolean_in(value, spec)
    return ("true" if flag else "false") if spec.textual else flag


def _date_out(value: Any, spec: ValueSpec) -> Any:
    try:
        return _date_text(value)
    except ValueError:
        raise _fail(spec, value, "is not a date (YYYY-MM-DD)") from None


_date_in = _date_out


def _datetime_out(value: Any, spec: ValueSpec) -> Any:
    try:
        moment = parse_datetime(value)
    except ValueError:
        raise _fail(spec, value, "is not an ISO-8601 date-time") from None
    return moment.date().isoformat() if spec.marketo_type == "date" else format_datetime(moment)


def _datetime_in(value: Any, spec: ValueSpec) -> Any:
    try:
        return format_datetime(parse_datetime(value))
    except ValueError:
        raise _fail(spec, value, "is not an ISO-8601 date-time") from None


def _option_code(value: Any, spec: ValueSpec) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _fail(spec, value, "is not an option code") from None


def _option_out(value: Any, spec: ValueSpec) -> Any:
    code = _option_code(value, spec)
    if spec.option_value is OptionValue.CODE or not spec.options:
        return code if spec.marketo_type == "integer" else str(code)
    if code not in spec.options:
        raise _fail(spec, value, f"is not one of the option set's codes {sorted(spec.options)}")
    return spec.options[code]


def _option_in(value: Any, spec: ValueSpec) -> Any:
    text = str(value).strip()
    if spec.option_value is OptionValue.LABEL and spec.options:
        by_label = {label.casefold(): code for code, label in spec.options.items()}
        if text.casefold() in by_label:
            return by_label[text.casefold()]
        if not text.lstrip("-").isdigit():
            labels = ", ".join(sorted(spec.options.values()))
            raise _fail(spec, value, f"is not a label of the option set ({labels})")
    code = _option_code(text, spec)
    if spec.options and code not in spec.options:
        raise _fail(spec, value, f"is not one of the option set's codes {sorted(spec.options)}")
    return code


def _codes(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _multi_out(value: Any, spec: ValueSpec) -> Any:
    single = ValueSpec(FieldType.OPTION, spec.name, "string", None, spec.options, spec.option_value)
    codes = sorted({_option_code(code, spec) for code in _codes(value)})
    return ";".join(str(_option_out(code, single)) for code in codes)


def _multi_in(value: Any, spec: ValueSpec) -> Any:
    single = ValueSpec(FieldType.OPTION, spec.name, "string", None, spec.options, spec.option_value)
    codes = sorted({_option_in(item.strip(), single) for item in str(value).split(";") if item.strip()})
    return ",".join(map(str, codes)) if codes else None


def _reference_out(value: Any, spec: ValueSpec) -> Any:
    return str(value).lower() if spec.lookup_value is LookupValue.ID else str(value)


def _reference_in(value: Any, spec: ValueSpec) -> Any:
    if spec.lookup_value is LookupValue.NAME:
        raise _fail(spec, value, "is a display name: a name cannot be turned back into a Dynamics reference")
    return str(value).lower()


Transform = Callable[[Any, ValueSpec], Any]

# field type → (to Marketo, to Dynamics): policy as data.
TRANSFORMS: Final[dict[FieldType, tuple[Transform, Transform]]] = {
    FieldType.TEXT: (_text_out, _text_in),
    FieldType.MEMO: (_text_out, _text_in),
    FieldType.INTEGER: (_integer_out, _integer_in),
    FieldType.DECIMAL: (_decimal_out, _decimal_in),
    FieldType.MONEY: (_decimal_out, _decimal_in),
    FieldType.BOOLEAN: (_boolean_out, _boolean_in),
    FieldType.DATE: (_date_out, _date_in),
    FieldType.DATETIME: (_datetime_out, _datetime_in),
    FieldType.OPTION: (_option_out, _option_in),
    FieldType.MULTI_OPTION: (_multi_out, _multi_in),
    FieldType.LOOKUP: (_reference_out, _reference_in),
    FieldType.OWNER: (_reference_out, _reference_in),
}


def to_marketo(value: Any, spec: ValueSpec) -> Any:
    """A Dynamics value (as the Web API returns it) → the Marketo field's value; None stays None."""
    if value is None or value == "":
        return None
    return TRANSFORMS[spec.type][0](value, spec)


def to_dynamics(value: Any, spec: ValueSpec) -> Any:
    """A Marketo value (REST or activity, often text) → the Dynamics column's value; empty → None."""
    if value is None or value == "":
        return None
    return TRANSFORMS[spec.type][1](value, spec)
