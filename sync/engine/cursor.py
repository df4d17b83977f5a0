"""Where each of an object's Dynamics streams stands, stored as the checkpoint's cursor.

An object reads one or more tables (a team: teams and memberships; opportunity roles:
connections and opportunities' customer contacts); each has its own link. Before its first
page the link is None (the next read is the full change-tracking read); mid-read it is a next
link; once the read has reached the end it is the delta link to start from next time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReadMode(StrEnum):
    TRACKING = "tracking"  # change tracking: delta links, deletions included
    MODIFIEDON = "modifiedon"  # no change tracking on the table: a modifiedon cursor + delete reconcile


class StreamCursor(BaseModel):
    model_config = ConfigDict(frozen=True)

    link: str | None = None
    complete: bool = False  # the first, full read reached its end
    read: int = 0  # rows read so far by the full copy (progress)
    mode: ReadMode = ReadMode.TRACKING
    high_water: str | None = None  # modifiedon: the newest row of the last complete scan
    scan_high: str | None = None  # modifiedon: the newest row of the scan under way
    reconciled_at: datetime | None = None  # modifiedon: when deletions were last looked for
    rebaseline: bool = False  # re-reading everything after an expired delta link; deletions reconciled at the end


class ObjectCursor(BaseModel):
    model_config = ConfigDict(frozen=True)

    streams: dict[str, StreamCursor] = Field(default_factory=dict)
    fresh: bool = False  # the full copy began with no link in the store: no lookups needed
    bulk: dict[str, Any] | None = None  # a bulk copy under way (sync/engine/bulk_copy.py: BulkState)

    def stream(self, name: str) -> StreamCursor:
        return self.streams.get(name, StreamCursor())

    def moved(self, name: str, cursor: StreamCursor) -> ObjectCursor:
        return self.model_copy(update={"streams": {**self.streams, name: cursor}})

    def complete(self, names: list[str]) -> bool:
        return all(self.stream(n).complete for n in names)

    @property
    def read(self) -> int:
        """Rows read so far, every stream (a full copy's progress)."""
        return sum(s.read for s in self.streams.values())

    @classmethod
    def parse(cls, text: str | None) -> ObjectCursor:
        return cls.model_validate_json(text) if text else cls()

    def dump(self) -> str:
        return self.model_dump_json(exclude_defaults=True)
