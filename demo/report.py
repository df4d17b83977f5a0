"""The demo's before / after report: for each edit, what Dynamics and Marketo hold before the
sync runs and after it, read from both sides (Dataverse Web API, the Marketo emulator's data)."""

from __future__ import annotations

from typing import Any

import requests

from demo.edits import Edit
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.errors import DataverseError

Snapshot = list[tuple[str, str]]


def marketo_rows(info: dict[str, Any], collection: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{info['url']}/_emulator/data/{collection}", verify=info["ca_file"], timeout=60)
    answer.raise_for_status()
    return list(answer.json()["rows"])


def _dynamics_value(dynamics: DataverseConnection, edit: Edit) -> str:
    table = dynamics.metadata.describe(edit.table)
    try:
        row = dynamics.client.get_json(f"{table.entity_set}({edit.record_id})", params={"$select": edit.column})
    except DataverseError as error:
        if error.status == 404:
            return "(deleted)"
        raise
    return _text(row.get(edit.column))


def _text(value: Any) -> str:
    return "(empty)" if value in (None, "") else str(value)


def snapshot(dynamics: DataverseConnection, marketo: dict[str, Any], edits: list[Edit]) -> Snapshot:
    persons = {str(p.get("dynamicsId")): p for p in marketo_rows(marketo, "lead") if p.get("dynamicsId")}
    companies = {str(c.get("externalCompanyId")): c for c in marketo_rows(marketo, "company")}
    values: Snapshot = []
    for edit in edits:
        if edit.table == "account":
            company = companies.get(edit.record_id.lower())
            in_marketo = "(no company)" if company is None else _text(company.get(edit.field))
        else:
            person = persons.get(edit.record_id.lower())
            in_marketo = "(no person)" if person is None else _text(person.get(edit.field))
        values.append((_dynamics_value(dynamics, edit), in_marketo))
    return values


def report(edits: list[Edit], before: Snapshot, after: Snapshot) -> str:
    lines = []
    for n, (edit, (dyn_before, mkt_before), (dyn_after, mkt_after)) in enumerate(
        zip(edits, before, after, strict=True), 1
    ):
        lines += [
            f"{n}. {edit.what}: {edit.expect}.",
            f"   Dynamics {edit.table}.{edit.column}: {dyn_before!r} → {dyn_after!r}",
            f"   Marketo  {edit.field}: {mkt_before!r} → {mkt_after!r}",
        ]
    return "\n".join(lines)
