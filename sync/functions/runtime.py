"""Process-wide objects of the Functions app: settings and the store, made once per worker."""

from __future__ import annotations

from functools import cache

from sync.settings import Settings, load_settings
from sync.store import SyncStore


@cache
def settings() -> Settings:
    return load_settings()


@cache
def store() -> SyncStore:
    return SyncStore.from_settings(settings().storage)
