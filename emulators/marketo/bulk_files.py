"""Bulk files as Marketo writes and reads them: CSV, `null` for a missing value, `true`/`false`
for booleans, an activity's attributes as one JSON object; extract rows chosen by window."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

ACTIVITY_FIELDS: Final = (
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
)


def parse_csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def cell(value: Any) -> Any:
    """A value as Marketo writes it into a bulk file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_csv(rows: Iterable[Mapping[str, Any]], columns: list[str], headers: Mapping[str, str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([(headers or {}).get(c, c) for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue().encode()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def lead_rows(leads: Iterable[Mapping[str, Any]], window: tuple[str, datetime, datetime]) -> list[Mapping[str, Any]]:
    """Persons whose createdAt or updatedAt (the filter's name) falls in [start, end)."""
    name, start, end = window
    low, high = stamp(start), stamp(end)
    return [lead for lead in leads if low <= str(lead.get(name)) < high]


def activity_rows(
    activities: Iterable[Any], window: tuple[str, datetime, datetime], types: frozenset[int]
) -> list[dict[str, Any]]:
    """Activities created in [start, end), of the wanted types, as the extract's columns."""
    _, start, end = window
    low, high = start.timestamp(), end.timestamp()
    rows = []
    for activity in activities:
        if not low <= activity.epoch < high or (types and activity.type_id not in types):
            continue
        wire = activity.generic_wire()
        rows.append(
            {
                **wire,
                "activityDate": stamp(datetime.fromtimestamp(activity.epoch, UTC)),
                "campaignId": wire.get("campaignId"),
                "primaryAttributeValueId": wire.get("primaryAttributeValueId"),
                "primaryAttributeValue": wire.get("primaryAttributeValue"),
                "attributes": json.dumps({a["name"]: a["value"] for a in wire.get("attributes", [])}),
            }
        )
    return rows


def failure_csv(items: list[tuple[dict[str, str], str]], reason_column: str) -> bytes:
    if not items:
        return b""
    columns = [*items[0][0].keys(), reason_column]
    return to_csv([{**row, reason_column: why} for row, why in items], columns)
