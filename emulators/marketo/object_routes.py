"""Lead Database objects (companies, opportunities, roles, sales persons, custom objects)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request

from emulators.common.routing import F
from emulators.marketo.catalogue import (
    MAX_BATCH,
    STANDARD_OBJECT_TYPES,
)
from emulators.marketo.core import OBJECT_ACTIONS, REST, MarketoCore, rest
from emulators.marketo.envelopes import MarketoError, batch_size, envelope, input_records, list_param, skipped
from emulators.marketo.models import (
    InvalidValue,
    ObjectDatabase,
    coerce,
    decode_token,
    encode_token,
)
from emulators.marketo.wire import is_get_override, json_body, params


def object_routes(suffix: str, *methods: str) -> Callable[[F], F]:
    """The same endpoint for each standard object type and for custom objects by name."""

    def mark(function: F) -> F:
        for otype in reversed(STANDARD_OBJECT_TYPES):
            standard = {"kind": "standard", "name": otype.name}
            function = rest(f"{REST}/{otype.name}{suffix}", *methods, defaults=standard)(function)
        custom = {"kind": "custom"}
        return rest(f"{REST}/customobjects/<name>{suffix}", *methods, defaults=custom)(function)

    return mark


class ObjectRoutes(MarketoCore):
    def _database(self, kind: str, name: str) -> ObjectDatabase:
        found = (self.standard_objects if kind == "standard" else self.custom_objects).get(name)
        if found is None:
            raise MarketoError("1003", detail=f"Custom object '{name}' not found")
        return found

    @rest(f"{REST}/customobjects.json", "GET")
    def on_custom_object_types(self, request: Request) -> dict[str, Any]:
        with self.lock:
            described = [self._describe(db) for db in self.custom_objects.values()]
        return envelope(described)

    @object_routes(".json", "GET", "POST")
    def on_objects(self, request: Request, kind: str, name: str) -> dict[str, Any]:
        if request.method == "POST" and not is_get_override(request):
            return self._sync_objects(self._database(kind, name), json_body(request))
        return self._query_objects(self._database(kind, name), request)

    def _sync_objects(self, db: ObjectDatabase, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action", "createOrUpdate")
        dedupe_by = body.get("dedupeBy", "dedupeFields")
        records = input_records(body)
        if action not in OBJECT_ACTIONS:
            raise MarketoError("1003", detail=f"Invalid action '{action}'")
        if dedupe_by not in ("dedupeFields", "idField"):
            raise MarketoError("1003", detail=f"Invalid dedupeBy '{dedupe_by}'")
        self.pause("object_write", len(records))
        with self.lock:
            return envelope([self._sync_one(db, seq, raw, action, dedupe_by) for seq, raw in enumerate(records)])

    def _sync_one(self, db: ObjectDatabase, seq: int, raw: Any, action: str, dedupe_by: str) -> dict[str, Any]:
        otype = db.type
        if not isinstance(raw, dict):
            return skipped("1003", "Invalid record", seq=seq)
        values: dict[str, Any] = {}
        for field_name, value in raw.items():
            fdef = db.fields.get(field_name)
            if fdef is None:
                return skipped("1006", field_name, seq=seq)
            if fdef.read_only and field_name != otype.id_field:
                continue
            try:
                values[field_name] = value if field_name == otype.id_field else coerce(fdef, value)
            except InvalidValue as exc:
                return skipped("1003", str(exc), seq=seq)
        if dedupe_by == "idField":
            record_id = values.pop(otype.id_field, None)
            if record_id is None:
                return skipped("1003", f"Value for field '{otype.id_field}' is required", seq=seq)
            if action == "createOnly":
                return skipped("1003", "dedupeBy idField cannot be used with createOnly", seq=seq)
            existing = record_id if record_id in db.records else None
        else:
            values.pop(otype.id_field, None)
            missing = [f for f in otype.dedupe_fields if values.get(f) is None]
            if missing:
                return skipped("1003", f"Value for required field '{missing[0]}' not specified", seq=seq)
            existing = db.by_dedupe(values)
        if existing is not None:
            if action == "createOnly":
                return skipped("1005", otype.display_name or otype.name, seq=seq)
            db.update(existing, values, self.clock.now())
            return {"seq": seq, "status": "updated", otype.id_field: existing}
        if action == "updateOnly":
            return skipped("1013", seq=seq)
        missing = [f for f in otype.required if values.get(f) is None]
        if missing:
            return skipped("1003", f"Value for required field '{missing[0]}' not specified", seq=seq)
        return {"seq": seq, "status": "created", otype.id_field: db.create(values, self.clock.now())}

    def _query_objects(self, db: ObjectDatabase, request: Request) -> dict[str, Any]:
        otype = db.type
        if request.method == "POST" and request.is_json:  # ?_method=GET with a JSON body: compound keys
            body = json_body(request)
            filter_type = body.get("filterType")
            raw_fields = ",".join(body.get("fields") or [])
            inputs = body.get("input") or []
            token, size_raw = body.get("nextPageToken"), body.get("batchSize")
        else:
            query = params(request)
            filter_type = query.get("filterType")
            raw_fields = query.get("fields") or ""
            inputs = list_param(query.get("filterValues"))
            token, size_raw = query.get("nextPageToken"), query.get("batchSize")
        if not filter_type:
            raise MarketoError("701", detail="filterType")
        keys = {"dedupeFields": otype.dedupe_fields, "idField": (otype.id_field,)}.get(
            filter_type, tuple(filter_type.split(","))
        )
        if keys not in otype.searchable and keys not in (otype.dedupe_fields, (otype.id_field,)):
            raise MarketoError("1003", detail=f"Invalid filterType '{filter_type}'")
        if not inputs:
            raise MarketoError("701", detail="filterValues")
        if len(inputs) > MAX_BATCH:
            raise MarketoError("1003", detail=f"Too many filterValues, maximum {MAX_BATCH}")
        size = batch_size(None if size_raw is None else str(size_raw))
        offset = decode_token("q", token) if token else 0
        if offset is None:
            raise MarketoError("1003", detail="Invalid nextPageToken")
        fields = self._fields_param(
            raw_fields, db.fields, (otype.id_field, *otype.dedupe_fields, "createdAt", "updatedAt")
        )
        self.pause("object_query")
        with self.lock:
            matches: list[dict[str, Any]] = []
            for item in inputs:
                wanted = tuple(item.get(k) for k in keys) if isinstance(item, dict) else (item,)
                if len(wanted) != len(keys):
                    raise MarketoError("1003", detail=f"filterType '{filter_type}' needs objects with {list(keys)}")
                matches.extend(db.find(keys, wanted))
            page = matches[offset : offset + size]
            rows = [{"seq": n + offset, **{f: r.get(f) for f in fields}} for n, r in enumerate(page)]
        more = offset + size < len(matches)
        return envelope(rows, nextPageToken=encode_token("q", offset + size) if more else None)

    @object_routes("/delete.json", "POST")
    def on_objects_delete(self, request: Request, kind: str, name: str) -> dict[str, Any]:
        db = self._database(kind, name)
        body = json_body(request)
        delete_by = body.get("deleteBy", "dedupeFields")
        records = input_records(body)
        if delete_by not in ("dedupeFields", "idField"):
            raise MarketoError("1003", detail=f"Invalid deleteBy '{delete_by}'")
        results = []
        with self.lock:
            for seq, record in enumerate(records):
                if delete_by == "idField":
                    target = record.get(db.type.id_field) if isinstance(record, dict) else None
                    target = target if target in db.records else None
                else:
                    target = db.by_dedupe(record) if isinstance(record, dict) else None
                if target is None:
                    results.append(skipped("1013", seq=seq))
                else:
                    db.delete(target)
                    results.append({"seq": seq, "status": "deleted", db.type.id_field: target})
        return envelope(results)

    def _describe(self, db: ObjectDatabase) -> dict[str, Any]:
        otype = db.type
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        display = otype.display_name or otype.name
        return {
            "name": otype.name,
            "apiName": otype.name,
            "displayName": display,
            "pluralName": f"{display}s",
            "description": f"{display} records",
            "createdAt": now,
            "updatedAt": now,
            "idField": otype.id_field,
            "dedupeFields": list(otype.dedupe_fields),
            "searchableFields": [list(s) for s in otype.searchable],
            "relationships": list(otype.relationships),
            # Swagger requires `status` but defines `state`: both are sent
            "status": "approved",
            "state": "approved",
            "version": "approved",
            "fields": [
                {
                    "name": f.name,
                    "displayName": f.display_name,
                    "dataType": f.data_type,
                    **({"length": f.length} if f.length else {}),
                    "updateable": not f.read_only,
                }
                for f in db.fields.values()
            ],
        }

    @object_routes("/describe.json", "GET")
    def on_objects_describe(self, request: Request, kind: str, name: str) -> dict[str, Any]:
        with self.lock:
            return envelope([self._describe(self._database(kind, name))])

    # bulk import and extract
