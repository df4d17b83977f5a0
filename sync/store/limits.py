"""Table Storage's per-entity limits, checked before a write so a refusal names the field and fix."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

MAX_PROPERTIES: Final = 252
MAX_STRING_BYTES: Final = 64 * 1024  # UTF-16 in the service: about 32K characters
MAX_ENTITY_BYTES: Final = 1024 * 1024


class EntityTooLarge(ValueError):
    """The value cannot be stored in one Table entity; nothing was written."""


def _size_of(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-16-le"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, (bool, int, float, datetime)):
        return 8
    return len(str(value).encode("utf-16-le"))


def check_entity(table: str, entity: Mapping[str, Any]) -> None:
    """Raise `EntityTooLarge` naming the property when Table Storage would refuse the entity."""
    where = f"{table} ({entity.get('PartitionKey')!r}, {entity.get('RowKey')!r})"
    custom = [k for k in entity if k not in ("PartitionKey", "RowKey", "Timestamp")]
    if len(custom) > MAX_PROPERTIES:
        raise EntityTooLarge(f"{where}: {len(custom)} properties; Table Storage allows {MAX_PROPERTIES}.")
    total = 0
    for name, value in entity.items():
        size = _size_of(value)
        total += size + len(name) * 2
        if isinstance(value, str) and size > MAX_STRING_BYTES:
            raise EntityTooLarge(
                f"{where}: property {name!r} is {size:,} bytes; Table Storage allows "
                f"{MAX_STRING_BYTES:,} bytes (about 32,000 characters) per string. "
                "Shorten the value or leave the field out of the mapping."
            )
    if total > MAX_ENTITY_BYTES:
        raise EntityTooLarge(f"{where}: entity is {total:,} bytes; Table Storage allows {MAX_ENTITY_BYTES:,}.")


def truncate_text(text: str, max_chars: int = 8000) -> str:
    """For free text we own (error messages): keep the start, say that the rest was cut."""
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"… [{len(text) - max_chars} characters cut]"
