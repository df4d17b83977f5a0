"""Process-wide objects of the Functions app: settings, the store, the change queue and the
engine, made once per worker (the engine's start reads both schemas and validates the mapping:
not per invocation)."""

from __future__ import annotations

import threading
from functools import cache

from sync.engine.runtime import Engine
from sync.log_redaction import redact_secrets
from sync.settings import Settings, load_settings
from sync.store import SyncStore
from sync.store.change_queue import ChangeQueue

_engine_lock = threading.Lock()
_engine: Engine | None = None


@cache
def settings() -> Settings:
    loaded = load_settings()
    redact_secrets(loaded)
    return loaded


@cache
def store() -> SyncStore:
    return SyncStore.from_settings(settings().storage)


@cache
def change_queue() -> ChangeQueue:
    loaded = settings()
    return ChangeQueue.open(loaded.storage.connection.get_secret_value(), loaded.sync.change_queue)


def engine() -> Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine.start(settings(), store=store())
        return _engine


def reset() -> None:
    """Forget everything made (a test's fresh worker)."""
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.close()
        _engine = None
    settings.cache_clear()
    store.cache_clear()
    change_queue.cache_clear()
