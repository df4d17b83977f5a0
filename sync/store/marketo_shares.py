"""Marketo's limits held in Table Storage, so that every process of the deployment together stays
under them: 100 calls per 20 s and 10 at a time per subscription (606 / 615), and the daily
budget (607). Rows of the leases table:

- `marketo-member` / owner: a live process, when its membership lapses, and the lane it has been
  busy in (`lane`: incremental, backfill, or empty when idle; see sync/connectors/marketo/lanes.py).
  Renewing it is the one write a process makes per round, and it renews every share the process
  holds: a share is held while its owner's membership is live.
- `marketo-share` / 00..N-1: one share of the limits (by default 10 calls per window and one
  call at a time): its owner, when it may be used (`usable_from`), and the calls its last owner
  made through it that are still in Marketo's window (`window_calls`, epoch end times), which
  the next owner counts as its own.
- `marketo-day` / date (US Central): the calls drawn from the day's budget by all processes.

Its writes (a membership upsert a round, a share's take or release, a day's draw per 50 calls)
are the process's, not a run's: they are left out of the runs' store-write counts.

Every change of a share or a day is a compare-and-swap on the row's ETag (single-entity
operations: Azurite ignores If-Match inside batch transactions), so two processes never both
take a share, and a day's count never loses an increment.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from sync.store.keys import escape_key, unescape_key
from sync.store.swap import swap_row
from sync.store.tables import StoreTables, Table

MEMBER: Final = "marketo-member"
SHARE: Final = "marketo-share"
DAY: Final = "marketo-day"


@dataclass(frozen=True)
class Share:
    index: int
    owner: str  # "" when free
    usable_from: datetime
    window_calls: tuple[float, ...]  # epoch end times of the last owner's calls, newest first
    etag: str | None  # None: the row does not exist yet


@dataclass(frozen=True)
class Member:
    lapses_at: datetime
    lane: str  # the lane it has been busy in lately, "" when idle


class MarketoShareStore:
    def __init__(self, tables: StoreTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._tables = tables
        self._table = tables.client(Table.LEASES)
        self._clock = clock

    def heartbeat(self, owner: str, lapses_at: datetime, lane: str = "") -> None:
        self._table.upsert_entity(
            {"PartitionKey": MEMBER, "RowKey": escape_key(owner), "owner": owner, "lapses_at": lapses_at, "lane": lane},
            mode=UpdateMode.REPLACE,
        )

    def leave(self, owner: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(MEMBER, escape_key(owner))

    def members(self) -> dict[str, Member]:
        """Every member, when its membership lapses (live or not) and its lane."""
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": MEMBER})
        return {unescape_key(r["RowKey"]): Member(r["lapses_at"], str(r.get("lane") or "")) for r in rows}

    def shares(self, count: int) -> list[Share]:
        rows = {r["RowKey"]: r for r in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": SHARE})}
        never = datetime(2000, 1, 1, tzinfo=UTC)
        return [_share(i, rows[_row(i)]) if _row(i) in rows else Share(i, "", never, (), None) for i in range(count)]

    def take(self, share: Share, owner: str, usable_from: datetime) -> Share | None:
        """The share, now ours; None when another process changed it first."""
        entity = _entity(share.index, owner, usable_from, share.window_calls)
        try:
            if share.etag is None:
                meta = self._table.create_entity(entity)
            else:
                meta = self._table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=share.etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError):
            return None
        return Share(share.index, owner, usable_from, share.window_calls, meta["etag"])

    def release(self, share: Share, window_calls: Sequence[float]) -> bool:
        """Hand the share back, with our calls still in the window; False if it was not ours any more."""
        entity = _entity(share.index, "", self._clock(), tuple(window_calls))
        try:
            self._table.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=share.etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    def draw(self, day: str, wanted: int, budget: int) -> int:
        """Take up to `wanted` calls from the day's budget; 0 once it is spent."""
        return self._change_day(day, lambda drawn: min(wanted, max(0, budget - drawn)))

    def give_back(self, day: str, unused: int) -> None:
        if unused > 0:
            self._change_day(day, lambda drawn: -min(unused, drawn))

    def drawn(self, day: str) -> int:
        try:
            return int(self._table.get_entity(DAY, day)["drawn"])
        except ResourceNotFoundError:
            return 0

    def _change_day(self, day: str, delta_of: Callable[[int], int]) -> int:
        changed = {"delta": 0}

        def apply(current: Any) -> dict[str, Any] | None:
            drawn = int(current["drawn"]) if current is not None else 0
            changed["delta"] = delta_of(drawn)
            if changed["delta"] == 0:
                return None
            return {"PartitionKey": DAY, "RowKey": day, "drawn": drawn + changed["delta"]}

        return changed["delta"] if swap_row(self._table, DAY, day, apply) is not None else 0


def _row(index: int) -> str:
    return f"{index:02d}"


def _entity(index: int, owner: str, usable_from: datetime, window_calls: Sequence[float]) -> dict[str, Any]:
    return {
        "PartitionKey": SHARE,
        "RowKey": _row(index),
        "owner": owner,
        "usable_from": usable_from,
        "window_calls": json.dumps([round(t, 3) for t in window_calls]),
    }


def _share(index: int, row: Any) -> Share:
    return Share(
        index, str(row["owner"]), row["usable_from"], tuple(json.loads(row["window_calls"])), row.metadata["etag"]
    )


def lapsed_grace(window_s: float) -> timedelta:
    """How long after its owner's membership lapsed a share may be used again: the owner may
    have called until the lapse, and those calls stay in Marketo's window this long."""
    return timedelta(seconds=window_s)
