"""A day's roll-up of one activity type for one person (engagement's roll-up mode): which activities
it counts, so a replayed activity is counted once. PartitionKey = the roll-up's key (person, type,
day), RowKey "": one entity each, holding the activities' keys and assets.

Crash order: the members are written before the Dynamics row that counts them, and `written`
(the count the row was last written with) after it. A crash between leaves `written` behind the
members, so the next activity of that roll-up, or the same ones replayed, write the row again from
the store's members: it catches up, and no activity is counted twice. Replays that add nothing to a
roll-up whose row is up to date cost no Dynamics write.
"""

from __future__ import annotations

import json
from typing import Final

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from sync.store.keys import escape_key
from sync.store.tables import StoreTables, Table

MAX_MEMBERS: Final = 1000  # a roll-up holds at most this many activities' keys (≤ 64 KB a property)


class RollupStore:
    def __init__(self, tables: StoreTables) -> None:
        self._tables = tables
        self._table = tables.client(Table.ROLLUPS)

    def add(self, key: str, members: dict[str, str]) -> tuple[dict[str, str], int]:
        """Every activity the roll-up counts once these are in (activity key → its asset), and the
        count its Dynamics row was last written with."""
        partition = escape_key(key)
        try:
            entity = self._table.get_entity(partition, "")
            known: dict[str, str] = json.loads(entity["members"])
            written = int(entity.get("written", 0))
        except ResourceNotFoundError:
            known, written = {}, 0
        merged = {**known, **{k: v for k, v in members.items() if k not in known}}
        if len(merged) > MAX_MEMBERS:
            merged = dict(list(merged.items())[:MAX_MEMBERS])
        if merged != known:
            self._put(partition, merged, written)
        return merged, written

    def mark_written(self, key: str, members: dict[str, str]) -> None:
        """The Dynamics row now counts these members."""
        self._put(escape_key(key), members, len(members))

    def _put(self, partition: str, members: dict[str, str], written: int) -> None:
        text = json.dumps(members, separators=(",", ":"))
        entity = {"PartitionKey": partition, "RowKey": "", "members": text, "written": written}
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        self._tables.wrote(Table.ROLLUPS)
