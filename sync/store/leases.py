"""Leases: at most one run per object at a time, across instances and hosts.

A lease is one row (PartitionKey "lease", RowKey = object) holding the owner and an expiry.
Taking it is an atomic create, or a compare-and-swap on the row's ETag once the holder's expiry
has passed (a crashed run's lease is taken over, never waited on forever). Single-entity
operations only: Azurite ignores If-Match inside batch transactions.

A holder known to be dead is not waited for: owners are "<host>:<pid>[:...]", and when the
holder ran on this host and its process is gone (killed, out of memory, a worker restarted by
the Functions host), the lease is taken over at once by the same compare-and-swap, so a crash
costs no lease-length of lag. Holders on other hosts, or whose pid is alive (possibly reused by
another process), are waited for until expiry: the check errs towards waiting, never towards
two runs at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from pydantic import BaseModel, ConfigDict

from sync.objects import SyncObject
from sync.store.holders import holder_gone
from sync.store.keys import escape_key
from sync.store.tables import StoreTables, Table

_PARTITION: Final = "lease"


class LeaseLost(Exception):
    """The lease expired and someone else took it: stop writing, the other run owns the object now."""


class Lease(BaseModel):
    model_config = ConfigDict(frozen=True)

    object: SyncObject
    owner: str
    acquired_at: datetime
    expires_at: datetime
    etag: str


class LeaseStore:
    def __init__(
        self,
        tables: StoreTables,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        gone: Callable[[str], bool] = holder_gone,
    ) -> None:
        self._tables = tables
        self._table = tables.client(Table.LEASES)
        self._clock = clock
        self._gone = gone

    def acquire(self, obj: SyncObject, owner: str, duration: timedelta) -> Lease | None:
        """The lease if free, expired, already ours or its holder's process is gone; None while
        another owner holds it."""
        now = self._clock()
        entity = {
            "PartitionKey": _PARTITION,
            "RowKey": escape_key(obj),
            "object": obj.value,
            "owner": owner,
            "acquired_at": now,
            "expires_at": now + duration,
        }
        try:
            meta = self._table.create_entity(entity)
            return self._lease(entity, meta["etag"])
        except ResourceExistsError:
            pass
        try:
            current = self._table.get_entity(_PARTITION, escape_key(obj))
        except ResourceNotFoundError:
            return None  # released and deleted between our two calls: let the next run take it
        if current["owner"] != owner and current["expires_at"] > now and not self._gone(current["owner"]):
            return None
        try:
            meta = self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=current.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return None  # another contender won the take-over
        return self._lease(entity, meta["etag"])

    def renew(self, lease: Lease, duration: timedelta) -> Lease:
        now = self._clock()
        entity = {
            "PartitionKey": _PARTITION,
            "RowKey": escape_key(lease.object),
            "object": lease.object.value,
            "owner": lease.owner,
            "acquired_at": lease.acquired_at,
            "expires_at": now + duration,
        }
        try:
            meta = self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=lease.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise LeaseLost(f"lease on {lease.object} was taken over; {lease.owner} must stop") from exc
        return self._lease(entity, meta["etag"])

    def release(self, lease: Lease) -> None:
        """Delete the row only if it is still ours; a lease already taken over is left alone."""
        with contextlib.suppress(ResourceModifiedError, ResourceNotFoundError):
            self._table.delete_entity(
                _PARTITION,
                escape_key(lease.object),
                etag=lease.etag,
                match_condition=MatchConditions.IfNotModified,
            )

    def current(self, obj: SyncObject) -> Lease | None:
        try:
            entity = self._table.get_entity(_PARTITION, escape_key(obj))
        except ResourceNotFoundError:
            return None
        return Lease.model_validate({**entity, "etag": str(entity.metadata["etag"])})

    def _lease(self, entity: Mapping[str, object], etag: str) -> Lease:
        self._tables.wrote(Table.LEASES)
        return Lease.model_validate({**entity, "etag": etag})
