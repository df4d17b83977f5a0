"""A whole sync under test: both emulators over HTTPS, Azurite, and the engine wired from settings
exactly as the app wires it. `restart()` throws the engine away and makes a new one, as a new
process would after a crash (the emulators and the store keep their state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from demo.dynamics_user import DynamicsUser
from emulators.app_settings import app_settings
from emulators.launch import RunningEmulator
from sync.connectors.dataverse.metadata import TableDefinition
from sync.engine.full_copy import Progress
from sync.engine.runtime import Engine
from sync.objects import Direction, SyncObject
from sync.settings import Settings, load_settings
from sync.store import SyncStore
from sync.store.checkpoints import Checkpoint
from tests.emulator_support import control

D2M = Direction.DYNAMICS_TO_MARKETO


@dataclass
class World:
    dataverse: RunningEmulator
    marketo: RunningEmulator
    settings: Settings
    store: SyncStore
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = Engine.start(self.settings, store=self.store)

    def restart(self) -> Engine:
        self.engine.close()
        self.engine = Engine.start(self.settings, store=self.store)
        return self.engine

    def table(self, name: str) -> TableDefinition:
        return self.engine.dataverse.metadata.describe(name)

    @property
    def user(self) -> DynamicsUser:
        """Someone working in Dynamics: creates, deletes, qualifies."""
        return DynamicsUser(self.engine.dataverse.client)

    def create(self, table: str, values: dict[str, Any]) -> str:
        return self.user.create(self.table(table), values)

    def update(self, table: str, record_id: str, values: dict[str, Any]) -> None:
        self.engine.dataverse.writer.update(self.table(table), record_id, values)

    def delete(self, table: str, record_id: str) -> None:
        self.user.delete(self.table(table), record_id)

    def dynamics_rows(self, table: str) -> list[dict[str, Any]]:
        return list(control(self.dataverse, "GET", f"data/{table}")["rows"])

    def marketo_rows(self, name: str) -> list[dict[str, Any]]:
        """Every record of one Marketo collection: lead, company, opportunity, opportunityrole,
        salesperson, customobject/<name>."""
        return list(control(self.marketo, "GET", f"data/{name}")["rows"])

    def marketo_writes(self) -> int:
        """Write calls Marketo has answered so far (pushes, syncs, deletes, field creation)."""
        stats = control(self.marketo, "GET", "stats")
        return int(stats.get("writes", 0))


def sync_env(
    dataverse: RunningEmulator, marketo: RunningEmulator, storage: str, prefix: str, **extra: str
) -> dict[str, str]:
    """The app settings of a sync against these emulators and tables, Marketo's window as the
    test emulators run it (0.2 s), plus `extra`."""
    return app_settings(
        dataverse.info,
        marketo.info,
        storage=storage,
        SYNC_TABLE_PREFIX=prefix,
        MARKETO_RATE_LIMIT_WINDOW_S="0.2",
        **extra,
    )


def make_world(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
    *,
    seed: int = 0,
    dataverse_options: dict[str, Any] | None = None,
    marketo_options: dict[str, Any] | None = None,
    **settings: str,
) -> World:
    dataverse = start_dataverse(seed_count=seed, **(dataverse_options or {}))
    marketo = start_marketo(**(marketo_options or {}))
    env = sync_env(dataverse, marketo, storage_connection, table_prefix, **settings)
    store = SyncStore.open(storage_connection, table_prefix)
    return World(dataverse, marketo, load_settings(env), store)


def by_key(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(r[key]).lower(): r for r in rows if r.get(key) is not None}


def sync_object(world: World, obj: SyncObject) -> None:
    from sync.engine.full_copy import full_copy

    full_copy(world.engine, obj)


def copy_one_page(engine: Engine, checkpoint: Checkpoint) -> tuple[Checkpoint, Progress]:
    """One page of the first stream of a full copy not yet copied (a test's step through it)."""
    from sync.engine.full_copy import advance_copy

    return next(iter(advance_copy(engine, checkpoint, set(), more=lambda: False)))


class Crash(BaseException):
    """The process dies here: nothing after this point runs, nothing in memory survives."""


def crash_after_marketo_writes(world: World, obj: SyncObject, monkeypatch: Any, page_size: int) -> None:
    """Copy page 1 of `obj`; then page 2 reaches Marketo and the process dies before its checkpoint;
    then a new process (a new engine) finishes the copy. The caller checks nothing was lost or
    duplicated."""
    from sync.engine.full_copy import begin_full_copy, full_copy

    world.engine.dataverse.changes.page_size = world.engine.dataverse.modified_since.page_size = page_size
    checkpoint = begin_full_copy(world.engine, obj)
    checkpoint, _ = copy_one_page(world.engine, checkpoint)
    saves = world.store.checkpoints.save

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    monkeypatch.setattr(world.store.checkpoints, "save", dies)
    writes = world.marketo_writes()
    try:
        copy_one_page(world.engine, checkpoint)
    except Crash:
        pass
    else:
        raise AssertionError("the crash did not happen")
    assert world.marketo_writes() > writes, "page 2 should have reached Marketo before the crash"
    monkeypatch.setattr(world.store.checkpoints, "save", saves)
    engine = world.restart()
    engine.dataverse.changes.page_size = engine.dataverse.modified_since.page_size = page_size
    resumed = world.store.checkpoints.get(obj, D2M)
    assert resumed is not None and resumed.etag == checkpoint.etag, "the checkpoint moved past page 1"
    full_copy(engine, obj)
