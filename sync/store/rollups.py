"""A day's roll-up of one activity type for one person (engagement's roll-up mode): which activities
it counts, so a replayed activity is counted once. PartitionKey = the day, RowKey =
"<person>~<type>": a page's roll-ups share a partition or two, read 14 keys a query (a filter holds
at most 15 comparisons) and written 100 a transaction, instead of two calls each.

Crash order: the members are written before the Dynamics row that counts them, and `written`
(the count the row was last written with) after it. A crash between leaves `written` behind the
members, so the next activity of that roll-up, or the same ones replayed, write the row again from
the store's members: it catches up, and no activity is counted twice. Replays that add nothing to a
roll-up whose row is up to date cost no Dynamics write.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sync.store.keys import escape_key
from sync.store.tables import StoreTables, Table
from sync.store.transactions import MAX_OPERATIONS, Upsert, submit

MAX_MEMBERS: Final = 1000  # a roll-up holds at most this many activities' keys (≤ 64 KB a property)
KEYS_PER_QUERY: Final = 14  # with the PartitionKey comparison: the 15 a filter may hold


@dataclass(frozen=True)
class RollupKey:
    day: str  # yyyy-mm-dd (UTC)
    person: int
    type_id: int

    @property
    def row(self) -> str:
        return f"{self.person}~{self.type_id}"


@dataclass
class Rollup:
    members: dict[str, str]  # activity key → what it was about
    written: int  # how many members the Dynamics row counted when last written


class RollupStore:
    def __init__(self, tables: StoreTables) -> None:
        self._tables = tables
        self._table = tables.client(Table.ROLLUPS)

    def get_many(self, keys: Iterable[RollupKey]) -> dict[RollupKey, Rollup]:
        """The roll-ups these keys have (missing ones are absent)."""
        by_day: dict[str, list[RollupKey]] = defaultdict(list)
        for key in dict.fromkeys(keys):
            by_day[key.day].append(key)
        found: dict[RollupKey, Rollup] = {}
        for day, wanted in by_day.items():
            named = {escape_key(key.row): key for key in wanted}
            for start in range(0, len(wanted), KEYS_PER_QUERY):
                chunk = wanted[start : start + KEYS_PER_QUERY]
                params = {"pk": escape_key(day), **{f"r{n}": escape_key(k.row) for n, k in enumerate(chunk)}}
                rows = " or ".join(f"RowKey eq @r{n}" for n in range(len(chunk)))
                for entity in self._table.query_entities(f"PartitionKey eq @pk and ( {rows} )", parameters=params):
                    key = named[str(entity["RowKey"])]
                    found[key] = Rollup(json.loads(entity["members"]), int(entity.get("written", 0)))
        return found

    def put_many(self, rollups: dict[RollupKey, Rollup]) -> None:
        """Each roll-up as given, a transaction per 100 of a day."""
        by_day: dict[str, list[Upsert]] = defaultdict(list)
        for key, rollup in rollups.items():
            members = dict(list(rollup.members.items())[:MAX_MEMBERS])
            entity = {
                "PartitionKey": escape_key(key.day),
                "RowKey": escape_key(key.row),
                "members": json.dumps(members, separators=(",", ":")),
                "written": rollup.written,
            }
            by_day[key.day].append(Upsert(entity))
        for operations in by_day.values():
            for start in range(0, len(operations), MAX_OPERATIONS):
                chunk = operations[start : start + MAX_OPERATIONS]
                submit(self._table, chunk)
                self._tables.wrote(Table.ROLLUPS, len(chunk))
