"""Reading one page of one stream after its cursor: change tracking when the table has it, else
the modifiedon cursor (the switch is made once, when Dataverse says the table has none). A row
a page holds twice (changed twice while the changes were listed) counts once, as it is last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.dataverse.errors import ChangeTrackingDisabled
from sync.engine.cursor import ReadMode, StreamCursor
from sync.engine.pipelines import Pipeline
from sync.mapping.transforms import parse_datetime


@dataclass(frozen=True)
class StreamPage:
    rows: list[dict[str, Any]]
    deleted: list[str]
    cursor: StreamCursor  # where the stream stands once this page is settled
    caught_up: bool  # the page reached the end: nothing more to read now


class StreamReader:
    def __init__(self, dataverse: DataverseConnection) -> None:
        self.dataverse = dataverse

    def read_page(self, pipeline: Pipeline, cursor: StreamCursor) -> StreamPage:
        if cursor.mode is ReadMode.MODIFIEDON:
            return self._modified_page(pipeline, cursor)
        changes = self.dataverse.changes
        link = cursor.link or changes.first_link(pipeline.table.entity_set, pipeline.select)
        try:
            page = next(iter(changes.read_changes(link)))
        except ChangeTrackingDisabled:
            return self._modified_page(pipeline, StreamCursor(mode=ReadMode.MODIFIEDON, read=cursor.read))
        rows = _last_of_each(page.rows, pipeline.table.primary_id)
        moved = cursor.model_copy(
            update={
                "link": page.resume_link,
                "complete": cursor.complete or page.complete,
                "read": cursor.read + len(rows),
            }
        )
        return StreamPage(rows, list(dict.fromkeys(page.deleted)), moved, page.complete)

    def _modified_page(self, pipeline: Pipeline, cursor: StreamCursor) -> StreamPage:
        reader = self.dataverse.modified_since
        since = parse_datetime(cursor.high_water) if cursor.high_water else None
        link = cursor.link or reader.first_link(
            pipeline.table.entity_set, pipeline.select, pipeline.table.primary_id, since
        )
        page = next(iter(reader.read_changes(link)))
        scan_high = max(filter(None, [cursor.scan_high, page.high_water]), default=None)
        if page.complete:
            moved = cursor.model_copy(
                update={
                    "link": None,
                    "complete": True,
                    "high_water": scan_high or cursor.high_water,
                    "scan_high": None,
                    "read": cursor.read + len(page.rows),
                    # the first complete scan saw every row: deletions are looked for from then on
                    "reconciled_at": cursor.reconciled_at or datetime.now(UTC),
                }
            )
        else:
            moved = cursor.model_copy(
                update={"link": page.resume_link, "scan_high": scan_high, "read": cursor.read + len(page.rows)}
            )
        return StreamPage(page.rows, [], moved, page.complete)

    def all_ids(self, pipeline: Pipeline) -> set[str]:
        return self.dataverse.modified_since.all_ids(pipeline.table.entity_set, pipeline.table.primary_id)


def _last_of_each(rows: list[dict[str, Any]], primary_id: str) -> list[dict[str, Any]]:
    if len({str(row[primary_id]).lower() for row in rows}) == len(rows):
        return rows
    last = {str(row[primary_id]).lower(): row for row in rows}
    return list(last.values())


def reconcile_due(cursor: StreamCursor, now: datetime, every_s: float) -> bool:
    if cursor.mode is not ReadMode.MODIFIEDON or not cursor.complete:
        return False
    return cursor.reconciled_at is None or (now - cursor.reconciled_at).total_seconds() >= every_s
