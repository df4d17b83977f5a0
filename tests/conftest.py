"""Shared fixtures: one Azurite table service per test session; fresh tables per test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from emulators.app_settings import app_settings
from emulators.azurite import AzuriteTable
from emulators.launch import RunningEmulator, start_in_process
from sync.connectors.dataverse.connection import DataverseConnection
from sync.connectors.marketo.connection import MarketoConnection
from sync.engine.schemas import read_schemas
from sync.functions import worker
from sync.mapping.file import MappingFile
from sync.mapping.resolve import Schemas
from sync.settings import DataverseSettings, MarketoSettings, load_section
from sync.store import SyncStore
from sync.store.tables import StoreTables, service_client
from tests.dataverse_support import write_project_table
from tests.functions_app import WEBHOOK_SECRET, import_function_app, index_functions
from tests.sync_support import World, make_world, sync_env

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteTable]:
    with AzuriteTable() as running:
        yield running


@pytest.fixture
def storage_connection(azurite: AzuriteTable) -> str:
    return azurite.connection_string


@pytest.fixture
def table_prefix() -> str:
    """Each test gets its own tables, so tests never see each other's rows."""
    return f"t{next(_prefixes)}x"


@pytest.fixture
def store(storage_connection: str, table_prefix: str) -> Iterator[SyncStore]:
    opened = SyncStore.open(storage_connection, table_prefix)
    yield opened
    opened.tables.drop_all()


@pytest.fixture
def tables(storage_connection: str, table_prefix: str) -> Iterator[StoreTables]:
    made = StoreTables(service_client(storage_connection), table_prefix)
    made.ensure()
    yield made
    made.drop_all()


def _starter(service: str, tmp_path: Path) -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators of one service over HTTPS (each with its own CA); all stop after the test."""
    started: list[RunningEmulator] = []

    def start(**options: Any) -> RunningEmulator:
        running = start_in_process(service, https=True, state_dir=tmp_path / f"{service}-{len(started)}", **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def start_marketo(tmp_path: Path) -> Iterator[Callable[..., RunningEmulator]]:
    yield from _starter("marketo", tmp_path)


@pytest.fixture
def marketo(start_marketo: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_marketo()


@pytest.fixture
def start_dataverse(tmp_path: Path) -> Iterator[Callable[..., RunningEmulator]]:
    yield from _starter("dataverse", tmp_path)


@pytest.fixture
def dataverse(start_dataverse: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_dataverse()


@pytest.fixture
def make_sync_world(
    start_dataverse: Callable[..., RunningEmulator],
    start_marketo: Callable[..., RunningEmulator],
    storage_connection: str,
    table_prefix: str,
) -> Iterator[Callable[..., World]]:
    """Makes the whole sync under test (see tests/sync_support.py); cleans up each one made."""
    made: list[World] = []

    def make(**options: Any) -> World:
        world = make_world(start_dataverse, start_marketo, storage_connection, table_prefix, **options)
        made.append(world)
        return world

    yield make
    for world in made:
        world.engine.close()
        world.store.tables.drop_all()


@pytest.fixture
def app_emulators(
    start_dataverse: Callable[..., RunningEmulator], start_marketo: Callable[..., RunningEmulator]
) -> tuple[RunningEmulator, RunningEmulator]:
    """Dataverse (three rows a table) and Marketo, for the Functions app."""
    return start_dataverse(seed_count=3), start_marketo()


@pytest.fixture
def app(
    monkeypatch: pytest.MonkeyPatch,
    app_emulators: tuple[RunningEmulator, RunningEmulator],
    storage_connection: str,
    table_prefix: str,
) -> Iterator[dict[str, func.Function]]:
    """The Functions app indexed as the worker does, its settings pointing at fresh emulators and tables."""
    dataverse, marketo = app_emulators
    env = sync_env(
        dataverse,
        marketo,
        storage_connection,
        table_prefix,
        SYNC_WEBHOOK_SECRET=WEBHOOK_SECRET,
        SYNC_CHANGE_QUEUE=f"{table_prefix.lower()}-changes",
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    functions = index_functions(import_function_app())
    yield functions
    worker.store().tables.drop_all()
    worker.change_queue().clear()
    worker.reset()


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Schemas]:
    """Both real schemas, read from emulators (a Dataverse one with a custom project table)."""
    state = tmp_path_factory.mktemp("schemas")
    tables = write_project_table(state / "tables.json")
    dataverse = start_in_process("dataverse", https=True, state_dir=state / "dv", tables=str(tables))
    marketo = start_in_process("marketo", https=True, state_dir=state / "mk")
    env = app_settings(dataverse.info, marketo.info)
    dv = DataverseConnection.from_settings(load_section(DataverseSettings, env))
    mk = MarketoConnection.from_settings(load_section(MarketoSettings, env))
    file = MappingFile.model_validate(
        {"custom_tables": [{"table": "new_project", "marketo_object": "dynamicsProject_c", "key": "projectId"}]}
    )
    yield read_schemas(dv, mk, file)
    dataverse.stop()
    marketo.stop()
