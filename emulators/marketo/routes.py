"""The Marketo emulator's endpoints, by role: identity and the REST frame (`core`), persons
(`lead_routes`), activities and usage (`activity_routes`), Lead Database objects
(`object_routes`), bulk import and export (`bulk_routes`), trigger campaigns calling webhooks
(`webhook_routes`), programs and their members (`program_routes`).
"""

from __future__ import annotations

import json
from pathlib import Path

from emulators.marketo.activity_routes import ActivityRoutes
from emulators.marketo.bulk_routes import BulkRoutes
from emulators.marketo.catalogue import (
    FieldDef,
    ObjectType,
)
from emulators.marketo.object_routes import ObjectRoutes
from emulators.marketo.program_routes import ProgramRoutes
from emulators.marketo.webhook_routes import WebhookRoutes


class MarketoService(
    BulkRoutes, ActivityRoutes, ObjectRoutes, WebhookRoutes, ProgramRoutes
):  # BulkRoutes builds on LeadRoutes
    """Every endpoint is a method declared with `@rest` (or `@route` for identity) in its role's
    module; this class only puts the roles together."""


def load_custom_object_types(path: Path) -> list[ObjectType]:
    """Custom object types from a seed file: [{"name", "displayName", "dedupeFields", "fields": [{"name",
    "dataType"}], "relationships": [...]}]; marketoGUID is the id field, as on Marketo."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    types = []
    for spec in raw:
        fields = [FieldDef("marketoGUID", "Marketo GUID", "string", 36, read_only=True)]
        fields += [
            FieldDef(
                f["name"],
                f.get("displayName", f["name"]),
                f.get("dataType", "string"),
                255 if f.get("dataType", "string") in ("string", "email", "phone", "url") else None,
            )
            for f in spec["fields"]
        ]
        fields += [
            FieldDef("createdAt", "Created At", "datetime", read_only=True),
            FieldDef("updatedAt", "Updated At", "datetime", read_only=True),
        ]
        dedupe = tuple(spec["dedupeFields"])
        types.append(
            ObjectType(
                name=spec["name"],
                id_field="marketoGUID",
                dedupe_fields=dedupe,
                fields=tuple(fields),
                searchable=(dedupe, ("marketoGUID",)),
                display_name=spec.get("displayName", spec["name"]),
                relationships=tuple(spec.get("relationships", ())),
            )
        )
    return types
