"""Pausing an object: its runs and its full copy stop at a checkpoint and do nothing until it is
resumed. Changes keep accumulating at the source (the stored delta links and paging token hold
the position) and flow on resume. `status` shows what is paused, and since when."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from sync.objects import SyncObject
from sync.store import SyncStore

PREFIX: Final = "paused:"


def pause(store: SyncStore, objects: Iterable[SyncObject], now: datetime) -> list[SyncObject]:
    """Pause each object not paused yet; returns those newly paused."""
    current = paused(store)
    newly = [obj for obj in objects if obj not in current]
    for obj in newly:
        store.meta.put(f"{PREFIX}{obj.value}", now.isoformat())
    return newly


def resume(store: SyncStore, objects: Iterable[SyncObject]) -> list[SyncObject]:
    """Resume each paused object; returns those that were paused."""
    current = paused(store)
    resumed = [obj for obj in objects if obj in current]
    for obj in resumed:
        store.meta.delete(f"{PREFIX}{obj.value}")
    return resumed


def paused(store: SyncStore) -> dict[SyncObject, datetime]:
    """Every paused object and since when (one query)."""
    return {
        SyncObject(key.removeprefix(PREFIX)): datetime.fromisoformat(value)
        for key, value in store.meta.items(PREFIX).items()
        if key.removeprefix(PREFIX) in SyncObject.__members__.values()
    }
