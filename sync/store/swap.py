"""Read-modify-write of one row, safe against every other process writing it: read the row,
compute its new value, create it (if it was missing) or replace it only if its ETag is
unchanged; on a conflict, read again and recompute. Single-entity operations only: Azurite
ignores If-Match inside batch transactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode

TRIES: Final = 20


def swap_row(
    table: TableClient, pk: str, rk: str, change: Callable[[TableEntity | None], dict[str, Any] | None]
) -> dict[str, Any] | None:
    """The row as `change` made it from its current value (None: the row was left as it is)."""
    for _ in range(TRIES):
        try:
            current: TableEntity | None = table.get_entity(pk, rk)
        except ResourceNotFoundError:
            current = None
        entity = change(current)
        if entity is None:
            return None
        try:
            if current is None:
                table.create_entity(entity)
            else:
                table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=current.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError):
            continue  # another process wrote it meanwhile: read again and recompute
        return entity
    raise RuntimeError(f"the row {table.table_name}/{pk}/{rk} kept changing under {TRIES} attempts")
