"""Custom tables for the Dataverse emulator, from a JSON file (`--tables`): each becomes a
TableDef beside the standard ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulators.dataverse.catalogue import Column, TableDef, common_columns, text_column


def load_custom_tables(path: Path) -> list[TableDef]:
    """[{"logical_name": "new_project", "entity_set": "new_projects", "primary_name": "new_name",
    "change_tracking": true, "columns": [{"name": "new_budget", "type": "Money"}, {"name": "new_due",
    "type": "DateTime", "date_only": true, "behavior": "DateOnly"}, ...]}]"""
    raw: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    tables = []
    for spec in raw:
        name = spec["logical_name"]
        primary_id = spec.get("primary_id", f"{name}id")
        columns = [
            Column(primary_id, "Uniqueidentifier"),
            text_column(spec.get("primary_name", f"{name.split('_')[0]}_name"), 100),
        ]
        for col in spec.get("columns", []):
            columns.append(
                Column(
                    col["name"],
                    col.get("type", "String"),
                    col.get("max_length"),
                    tuple((o["value"], o["label"]) for o in col.get("options", [])),
                    tuple(col.get("targets", [])),
                    date_only=bool(col.get("date_only", False)),
                    behavior=str(col.get("behavior", "UserLocal")),
                )
            )
        columns.extend(common_columns())
        tables.append(
            TableDef(
                name,
                spec.get("entity_set", f"{name}s"),
                primary_id,
                spec.get("primary_name", f"{name.split('_')[0]}_name"),
                tuple(columns),
                change_tracking=spec.get("change_tracking", True),
                display=spec.get("display", name),
            )
        )
    return tables
