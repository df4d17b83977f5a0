"""The Marketo emulator's endpoints, by role: identity and the REST frame (`core`), persons
(`lead_routes`), activities and usage (`activity_routes`), Lead Database objects
(`object_routes`), bulk import and export (`bulk_routes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from werkzeug.routing import Rule

from emulators.marketo.activity_routes import ActivityRoutes
from emulators.marketo.bulk_routes import BulkRoutes
from emulators.marketo.catalogue import (
    STANDARD_OBJECT_TYPES,
    FieldDef,
    ObjectType,
)
from emulators.marketo.object_routes import ObjectRoutes


class MarketoService(BulkRoutes, ActivityRoutes, ObjectRoutes):  # BulkRoutes builds on LeadRoutes
    def rules(self) -> Iterable[Rule]:
        rest = "/rest/v1"
        yield Rule("/identity/oauth/token", endpoint="identity_token", methods=["GET", "POST"])
        yield Rule(f"{rest}/leads.json", endpoint="leads", methods=["GET", "POST", "DELETE"])
        yield Rule(f"{rest}/lead/<int:lead_id>.json", endpoint="lead_by_id", methods=["GET"])
        yield Rule(f"{rest}/leads/describe.json", endpoint="leads_describe", methods=["GET"])
        yield Rule(f"{rest}/leads/describe2.json", endpoint="leads_describe2", methods=["GET"])
        yield Rule(f"{rest}/leads/schema/fields.json", endpoint="lead_fields", methods=["GET", "POST"])
        yield Rule(f"{rest}/leads/delete.json", endpoint="leads_delete", methods=["POST"])
        yield Rule(f"{rest}/leads/<int:winner_id>/merge.json", endpoint="leads_merge", methods=["POST"])
        yield Rule(f"{rest}/leads/partitions.json", endpoint="lead_partitions", methods=["GET"])
        yield Rule(f"{rest}/activities/pagingtoken.json", endpoint="paging_token", methods=["GET"])
        yield Rule(f"{rest}/activities.json", endpoint="activities", methods=["GET"])
        yield Rule(f"{rest}/activities/leadchanges.json", endpoint="lead_changes", methods=["GET"])
        yield Rule(f"{rest}/activities/deletedleads.json", endpoint="deleted_leads", methods=["GET"])
        yield Rule(f"{rest}/stats/usage.json", endpoint="usage", methods=["GET"])
        for otype in STANDARD_OBJECT_TYPES:
            base = f"{rest}/{otype.name}"
            defaults = {"kind": "standard", "name": otype.name}
            yield Rule(f"{base}.json", endpoint="objects", methods=["GET", "POST"], defaults=defaults)
            yield Rule(f"{base}/delete.json", endpoint="objects_delete", methods=["POST"], defaults=defaults)
            yield Rule(f"{base}/describe.json", endpoint="objects_describe", methods=["GET"], defaults=defaults)
        yield Rule(f"{rest}/customobjects.json", endpoint="custom_object_types", methods=["GET"])
        yield Rule("/bulk/v1/leads.json", endpoint="bulk_import", methods=["POST"])
        yield Rule("/bulk/v1/leads/batch/<int:batch_id>.json", endpoint="bulk_import_status", methods=["GET"])
        yield Rule(
            "/bulk/v1/leads/batch/<int:batch_id>/<any(failures, warnings):kind>.json",
            endpoint="bulk_import_rows",
            methods=["GET"],
        )
        yield Rule("/bulk/v1/leads/export.json", endpoint="bulk_export_jobs", methods=["GET"])
        yield Rule(f"{rest}/activities/types.json", endpoint="activity_types", methods=["GET"])
        yield Rule("/bulk/v1/leads/export/create.json", endpoint="bulk_export_create", methods=["POST"])
        yield Rule(
            "/bulk/v1/leads/export/<export_id>/<any(enqueue, cancel):verb>.json",
            endpoint="bulk_export_verb",
            methods=["POST"],
        )
        yield Rule("/bulk/v1/leads/export/<export_id>/status.json", endpoint="bulk_export_status", methods=["GET"])
        yield Rule("/bulk/v1/leads/export/<export_id>/file.json", endpoint="bulk_export_file", methods=["GET"])
        custom = {"kind": "custom"}
        yield Rule(f"{rest}/customobjects/<name>.json", endpoint="objects", methods=["GET", "POST"], defaults=custom)
        yield Rule(
            f"{rest}/customobjects/<name>/delete.json",
            endpoint="objects_delete",
            methods=["POST"],
            defaults=custom,
        )
        yield Rule(
            f"{rest}/customobjects/<name>/describe.json",
            endpoint="objects_describe",
            methods=["GET"],
            defaults=custom,
        )


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
