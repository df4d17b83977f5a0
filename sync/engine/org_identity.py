"""Noticing at start that the Dataverse organisation is not the one the store was written for.

A sandbox refreshed from production (or DATAVERSE_URL pointed at another org) keeps the store's
links but not its change-tracking positions: every delta link belongs to the old org. Marketo's
native sync cannot survive this; here every Dynamics → Marketo stream of every object is set to
re-baseline (every row read again, only what differs written, deletions found by reconciling
ids), the change is noted for `status`, and the sync carries on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sync.connectors.dataverse.connection import DataverseConnection
from sync.engine.cursor import ObjectCursor, StreamCursor
from sync.objects import Direction, SyncObject
from sync.store import SyncStore

ORG_KEY: Final = "dataverse_organization"
ORG_CHANGED: Final = "dataverse_org_changed"


def check_organization(store: SyncStore, dataverse: DataverseConnection) -> bool:
    """True when the org changed since the store was last written (and its streams now re-baseline)."""
    current = str(dataverse.client.get_json("WhoAmI")["OrganizationId"]).lower()
    known = store.meta.get(ORG_KEY)
    if known == current:
        return False
    if known is not None:
        rebaseline_all(store)
        store.notices.note(
            ORG_CHANGED,
            SyncObject.PERSON,
            current,
            {"previous": known, "url": dataverse.client.org_url, "noticed_at": datetime.now(UTC).isoformat()},
        )
    store.meta.put(ORG_KEY, current)
    return known is not None


def rebaseline_all(store: SyncStore) -> None:
    for checkpoint in store.checkpoints.list():
        if checkpoint.direction is not Direction.DYNAMICS_TO_MARKETO:
            continue
        cursor = ObjectCursor.parse(checkpoint.cursor)
        streams = {
            name: StreamCursor(mode=stream.mode, rebaseline=True, complete=False, read=stream.read)
            for name, stream in cursor.streams.items()
        }
        moved = cursor.model_copy(update={"streams": streams, "fresh": False})
        store.checkpoints.save(checkpoint.advanced(cursor=moved.dump()))
