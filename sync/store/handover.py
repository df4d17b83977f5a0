"""Changes handed over to the run that holds their object's lease.

A webhook's drain that finds its object's lease held (a timer run reading a long backlog of
activities, say: a minute or more while a copy fills Marketo's log) used to put its references
back on the queue and look again every few seconds for as long as the run lasted. Instead it
leaves them here and the holder takes them between pages: it holds the lease, so it may sync
them, and a change waits for one page, not for the run. Whoever holds the lease next takes what
is left (a run at its start and before it ends, a drain before its own references).

Order matters at one point: a drain hands over, then tries the lease once more, and if the
holder has meanwhile finished (after its last look) takes everything back itself. So a
reference never waits for a holder that is gone. If the taker dies before settling, the row
stays for the next holder; and the timers read every change anyway, a webhook being a hint.

One row per object in the leases table (PartitionKey "handover"). Adding and settling are
read-modify-writes on the row's ETag (`swap.py`), so a drain adding while a run settles loses
neither's references. A row holds at most `MAX_HANDED` (a Table property holds 32 K characters); a drain
that finds no room puts its references back on the queue instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableEntity

from sync.objects import SyncObject
from sync.store.change_queue import ChangeRef
from sync.store.keys import escape_key
from sync.store.swap import swap_row
from sync.store.tables import StoreTables, Table

_PARTITION: Final = "handover"
MAX_HANDED: Final = 200  # ~130 characters a reference: well inside a property's 32 K


@dataclass(frozen=True)
class Handed:
    """What a holder took."""

    object: SyncObject
    refs: list[ChangeRef]


def _encode(refs: Sequence[ChangeRef]) -> str:
    return json.dumps([[r.source, r.table, r.id, r.message, r.heard_at.isoformat()] for r in refs])


def _decode(text: str) -> list[ChangeRef]:
    return [
        ChangeRef(source=s, table=t, id=i, message=m, heard_at=datetime.fromisoformat(h))
        for s, t, i, m, h in json.loads(text)
    ]


class Handover:
    def __init__(self, tables: StoreTables) -> None:
        self._tables = tables
        self._table = tables.client(Table.LEASES)

    def hand_over(self, obj: SyncObject, refs: Sequence[ChangeRef]) -> bool:
        """Leave `refs` for `obj`'s lease holder; False when the row has no room for them."""

        def add(current: TableEntity | None) -> dict[str, Any] | None:
            waiting = _decode(current["refs"]) if current else []
            fresh = [r for r in refs if r not in waiting]
            if len(waiting) + len(fresh) > MAX_HANDED:
                return None
            return self._entity(obj, waiting + fresh)

        added = swap_row(self._table, _PARTITION, escape_key(obj), add) is not None
        if added:
            self._tables.wrote(Table.LEASES)
        return added

    def take(self, obj: SyncObject) -> Handed | None:
        """What waits for `obj` (the caller holds its lease); None when nothing does."""
        try:
            current = self._table.get_entity(_PARTITION, escape_key(obj))
        except ResourceNotFoundError:
            return None
        refs = _decode(current["refs"])
        return Handed(obj, refs) if refs else None

    def settle(self, handed: Handed) -> None:
        """Remove what `handed` held, keeping anything added since it was taken (the row stays,
        empty, for the next hand-over)."""

        def remove(current: TableEntity | None) -> dict[str, Any] | None:
            if current is None:
                return None
            return self._entity(handed.object, [r for r in _decode(current["refs"]) if r not in handed.refs])

        if swap_row(self._table, _PARTITION, escape_key(handed.object), remove) is not None:
            self._tables.wrote(Table.LEASES)

    @staticmethod
    def _entity(obj: SyncObject, refs: Sequence[ChangeRef]) -> dict[str, Any]:
        return {"PartitionKey": _PARTITION, "RowKey": escape_key(obj), "object": obj.value, "refs": _encode(refs)}
