"""Marketo's state: persons with their indexes, the activity log, Lead Database objects, tokens
and limits. Pure data structures; the routes take the service lock around every mutation."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from emulators.common.clock import EmulatorClock
from emulators.marketo.activity_log import ActivityLog
from emulators.marketo.catalogue import (
    ACTIVITY_CHANGE_DATA_VALUE,
    ACTIVITY_DELETE_LEAD,
    ACTIVITY_NEW_LEAD,
    CHANGE_SCORE,
    STANDARD_PERSON_FIELDS,
    FieldDef,
    ObjectType,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class InvalidValue(ValueError):
    pass


def coerce(fdef: FieldDef, raw: Any) -> Any:
    """Marketo's own type rules for an incoming value; raises InvalidValue with its message."""
    if raw is None or raw == "":
        return None
    kind = fdef.data_type
    try:
        if kind in ("integer", "score"):
            if isinstance(raw, bool):
                raise InvalidValue
            return int(str(raw))
        if kind in ("float", "currency"):
            if isinstance(raw, bool):
                raise InvalidValue
            return float(raw)
        if kind == "boolean":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no"):
                return False
            raise InvalidValue
        if kind == "date":
            return date.fromisoformat(str(raw)[:10]).isoformat()
        if kind == "datetime":
            parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            return iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    except (ValueError, TypeError, InvalidValue):
        raise InvalidValue(f"Invalid value '{raw}' for field '{fdef.name}' of type {kind}") from None
    text = str(raw)
    if kind == "email" and not _EMAIL.match(text):
        raise InvalidValue(f"Invalid email address '{text}'")
    if fdef.length is not None and len(text) > fdef.length:
        raise InvalidValue(f"Value for field '{fdef.name}' exceeds its length of {fdef.length}")
    return text


def index_key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def encode_token(kind: str, position: int) -> str:
    return base64.b32encode(f"{kind}:{position}:{uuid.uuid4().hex[:6]}".encode()).decode().rstrip("=")


def decode_token(kind: str, token: str) -> int | None:
    try:
        padded = token + "=" * (-len(token) % 8)
        got_kind, position, _ = base64.b32decode(padded).decode().split(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(position) if got_kind == kind else None


class PersonDatabase:
    def __init__(self) -> None:
        self.fields: dict[str, FieldDef] = {f.name: f for f in STANDARD_PERSON_FIELDS}
        self.leads: dict[int, dict[str, Any]] = {}
        self.next_id = 1
        self.activities = ActivityLog()
        self._indexes: dict[str, dict[Any, set[int]]] = {}
        # what trigger campaigns hear: (person id, "created" or "changed", the fields written)
        self.on_change: Callable[[int, str, list[str]], None] | None = None

    def field_id(self, name: str) -> int:
        """The field's id as describe reports it (its position among the fields, from 1)."""
        return list(self.fields).index(name) + 1

    def searchable(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.searchable]

    def _index(self, name: str) -> dict[Any, set[int]]:
        if name not in self._indexes:
            built: dict[Any, set[int]] = {}
            for lead_id, values in self.leads.items():
                value = values.get(name)
                if value is not None:
                    built.setdefault(index_key(value), set()).add(lead_id)
            self._indexes[name] = built
        return self._indexes[name]

    def lookup(self, name: str, value: Any) -> list[int]:
        if name == "id":
            try:
                lead_id = int(value)
            except (TypeError, ValueError):
                return []
            return [lead_id] if lead_id in self.leads else []
        return sorted(self._index(name).get(index_key(value), ()))

    def _reindex(self, lead_id: int, name: str, old: Any, new: Any) -> None:
        index = self._indexes.get(name)
        if index is None:
            return
        if old is not None:
            index.get(index_key(old), set()).discard(lead_id)
        if new is not None:
            index.setdefault(index_key(new), set()).add(lead_id)

    def create(self, values: dict[str, Any], epoch: float, source: str) -> int:
        lead_id = self.next_id
        self.next_id += 1
        stamp = iso(datetime.fromtimestamp(epoch, UTC))
        record = {k: v for k, v in values.items() if v is not None}
        record.update(id=lead_id, createdAt=stamp, updatedAt=stamp, leadPartitionId=1)
        self.leads[lead_id] = record
        for name, value in record.items():
            self._reindex(lead_id, name, None, value)
        self.activities.append(
            lead_id,
            ACTIVITY_NEW_LEAD,
            epoch,
            attributes=[
                {"name": "Source Type", "value": source},
                {"name": "Created Date", "value": stamp[:10]},
            ],
            primary=str(record.get("email") or ""),
        )
        if self.on_change is not None:
            self.on_change(lead_id, "created", list(record))
        return lead_id

    def update(self, lead_id: int, values: dict[str, Any], epoch: float, source: str) -> list[str]:
        record = self.leads[lead_id]
        changed = []
        for name, new in values.items():
            old = record.get(name)
            if old == new:
                continue
            if new is None:
                record.pop(name, None)
            else:
                record[name] = new
            self._reindex(lead_id, name, old, new)
            changed.append(name)
            fdef = self.fields[name]
            score = fdef.data_type == "score"  # a Score field's change is a Change Score activity
            change = [{"name": "Change Value", "value": str(int(new or 0) - int(old or 0))}] if score else []
            self.activities.append(
                lead_id,
                CHANGE_SCORE if score else ACTIVITY_CHANGE_DATA_VALUE,
                epoch,
                fields=[
                    {
                        "id": self.field_id(name),
                        "name": name,
                        "newValue": None if new is None else str(new),
                        "oldValue": None if old is None else str(old),
                    }
                ],
                attributes=[
                    *change,
                    {"name": "Source", "value": source},
                    {"name": "Reason", "value": "Web service API"},
                ],
                primary=fdef.display_name,
            )
        if changed:
            record["updatedAt"] = iso(datetime.fromtimestamp(epoch, UTC))
            if self.on_change is not None:
                self.on_change(lead_id, "changed", changed)
        return changed

    def delete(self, lead_id: int, epoch: float) -> None:
        record = self.leads.pop(lead_id)
        for name, value in record.items():
            self._reindex(lead_id, name, value, None)
        self.activities.append(
            lead_id,
            ACTIVITY_DELETE_LEAD,
            epoch,
            attributes=[{"name": "Source", "value": "Web service API"}],
            primary=str(record.get("email") or lead_id),
        )


class ObjectDatabase:
    """Records of one Lead Database object type, deduplicated on its dedupe fields."""

    def __init__(self, otype: ObjectType) -> None:
        self.type = otype
        self.fields: dict[str, FieldDef] = {f.name: f for f in otype.fields}
        self.records: dict[Any, dict[str, Any]] = {}
        self.next_id = 1
        self._by_dedupe: dict[tuple[Any, ...], Any] = {}

    def dedupe_key(self, values: dict[str, Any]) -> tuple[Any, ...] | None:
        key = tuple(index_key(values.get(f)) for f in self.type.dedupe_fields)
        return None if any(v is None for v in key) else key

    def by_dedupe(self, values: dict[str, Any]) -> Any | None:
        key = self.dedupe_key(values)
        return None if key is None else self._by_dedupe.get(key)

    def create(self, values: dict[str, Any], epoch: float) -> Any:
        if self.type.id_field == "id":
            record_id: Any = self.next_id
            self.next_id += 1
        else:
            record_id = str(uuid.uuid4())
        stamp = iso(datetime.fromtimestamp(epoch, UTC))
        record = {k: v for k, v in values.items() if v is not None}
        record.update({self.type.id_field: record_id, "createdAt": stamp, "updatedAt": stamp})
        self.records[record_id] = record
        key = self.dedupe_key(record)
        if key is not None:
            self._by_dedupe[key] = record_id
        return record_id

    def update(self, record_id: Any, values: dict[str, Any], epoch: float) -> None:
        record = self.records[record_id]
        for name, value in values.items():
            if value is None:
                record.pop(name, None)
            else:
                record[name] = value
        record["updatedAt"] = iso(datetime.fromtimestamp(epoch, UTC))

    def delete(self, record_id: Any) -> None:
        record = self.records.pop(record_id)
        key = self.dedupe_key(record)
        if key is not None:
            self._by_dedupe.pop(key, None)

    def find(self, filter_fields: tuple[str, ...], values: tuple[Any, ...]) -> list[dict[str, Any]]:
        if filter_fields == (self.type.id_field,):
            found = self.records.get(values[0])
            if found is None and self.type.id_field == "id":
                try:
                    found = self.records.get(int(values[0]))
                except (TypeError, ValueError):
                    found = None
            return [] if found is None else [found]
        if filter_fields == self.type.dedupe_fields:
            record_id = self._by_dedupe.get(tuple(index_key(v) for v in values))
            return [] if record_id is None else [self.records[record_id]]
        wanted = tuple(index_key(v) for v in values)
        return [r for r in self.records.values() if tuple(index_key(r.get(f)) for f in filter_fields) == wanted]


class TokenBook:
    """Marketo's token semantics: the same token until it expires; an expired one says so (602)."""

    def __init__(self, clock: EmulatorClock, lifetime_s: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s
        self._expiry: dict[str, float] = {}
        self._current: str | None = None

    def issue(self) -> tuple[str, int]:
        now = self.clock.monotonic()
        lifetime = self.clock.scaled(self.lifetime_s)
        if self._current is None or self._expiry[self._current] <= now:
            self._current = f"{uuid.uuid4()}:ab"
            self._expiry[self._current] = now + lifetime
        remaining = self._expiry[self._current] - now
        return self._current, max(int(remaining) - 1, 0)

    def check(self, token: str | None) -> str | None:
        if not token:
            return "600"
        expiry = self._expiry.get(token)
        if expiry is None:
            return "601"
        return "602" if expiry <= self.clock.monotonic() else None

    def expire_all(self) -> None:
        for token in self._expiry:
            self._expiry[token] = 0.0
